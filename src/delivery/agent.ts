// Turns a queued envelope into a delivery: finds its action, works out the user and the
// destination from the format specifiers, and calls the method's writer.

import { resolve } from "node:path";
import type { Action, Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { DeliverFunction, DeliveryOutcome, QueuedEnvelope } from "../queue/mod.ts";
import { expandFormat, needsDirectory } from "./format.ts";
import { deliverToMaildir, isAlreadyDelivered } from "./maildir.ts";

/** A system or virtual user a delivery runs for. */
export interface DeliveryUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** Options of {@link createDeliveryAgent}. */
export interface DeliveryAgentOptions {
  readonly config: Config;
  /** Relative destinations are resolved against this directory (the config file's). */
  readonly baseDir: string;
  readonly lookupUser: (name: string) => Promise<DeliveryUser | undefined>;
  readonly log: Logger;
}

/** Builds the function the scheduler calls for each envelope. */
export function createDeliveryAgent(options: DeliveryAgentOptions): DeliverFunction {
  const actions = new Map(options.config.actions.map((a) => [a.name, a] as const));
  return async (envelope, content, context) => {
    const action = actions.get(envelope.action);
    if (!action) return permfail(`no action named "${envelope.action}" in the configuration`);
    try {
      switch (action.method.kind) {
        case "maildir":
          return await deliverMaildir(action, envelope, content, context.recovered, options);
        default:
          return permfail(`delivery method "${action.method.kind}" is not supported yet`);
      }
    } catch (error) {
      // File system errors (no space, permissions) are worth retrying.
      return { kind: "tempfail", reason: error instanceof Error ? error.message : String(error) };
    }
  };
}

async function deliverMaildir(
  action: Action,
  envelope: QueuedEnvelope,
  content: Uint8Array,
  recovered: boolean,
  options: DeliveryAgentOptions,
): Promise<DeliveryOutcome> {
  const method = action.method as { kind: "maildir"; path?: string };
  const template = method.path ?? "~/Maildir";
  const username = envelope.user ?? localPart(envelope.rcpt);
  let directory: string | undefined;
  if (needsDirectory(template)) {
    directory = (await options.lookupUser(username))?.home;
    if (directory === undefined) return permfail(`unknown user "${username}"`);
  }
  let dir: string;
  try {
    dir = expandFormat(template, {
      sender: envelope.sender,
      rcpt: envelope.rcpt,
      dest: envelope.rcpt,
      username,
      ...(directory === undefined ? {} : { directory }),
    });
  } catch (error) {
    return permfail(error instanceof Error ? error.message : String(error));
  }
  if (!dir.startsWith("/")) dir = resolve(options.baseDir, dir);
  if (recovered && await isAlreadyDelivered(dir, envelope.evpid)) {
    options.log.info(`delivery: ${envelope.evpid} was delivered before a restart; not again`);
    return { kind: "ok" };
  }
  await deliverToMaildir(dir, content, {
    returnPath: envelope.sender,
    deliveredTo: envelope.rcpt,
    evpid: envelope.evpid,
  });
  return { kind: "ok" };
}

function localPart(address: string): string {
  const at = address.lastIndexOf("@");
  return (at === -1 ? address : address.slice(0, at)).toLowerCase();
}

function permfail(reason: string): DeliveryOutcome {
  return { kind: "permfail", reason };
}
