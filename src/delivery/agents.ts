// The delivery steps that need another user's rights — running an action's mda or a
// `|command` as its user, reading a ~/.forward or an `:include:` file — as plain requests.
// This process does them itself (createLocalAgents), or a privileged parent does them for
// an unprivileged front (src/privsep); the router cannot tell the two apart.

import type { Action, Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliveryResult, permfail } from "../mail/mod.ts";
import type { DeliveryUser } from "./expand.ts";
import { expandFormat, type FormatVars } from "./format.ts";
import { readForwardFile } from "./forward.ts";
import { spoolWriter } from "./mail_spool.ts";
import { runMda, shellSafe } from "./mda.ts";

/** An `mda` action's delivery: the command is expanded from the action, never sent. */
export interface MdaActionRequest {
  /** The action's name; it must be an `mda` action. */
  readonly action: string;
  /** The values its format specifiers expand to (each through {@link shellSafe}). */
  readonly vars: FormatVars;
  /** Who it runs as (the recipient, or the action's `user`). */
  readonly user: DeliveryUser;
  /** The envelope sender. */
  readonly sender: string;
  /** The original recipient. */
  readonly rcpt: string;
  /** The recipient after expansion. */
  readonly dest: string;
  /** The recipient's `+tag`, when it has one. */
  readonly extension?: string;
}

/** A `|command` from an aliases table or a ~/.forward, run as the user who named it. */
export interface PipeRequest {
  /** The action whose aliases or whose user's ~/.forward named the command. */
  readonly action: string;
  /** The command as written (without the `|`). */
  readonly command: string;
  /** The user the command runs as. */
  readonly user: DeliveryUser;
  /** The envelope sender. */
  readonly sender: string;
  /** The original recipient. */
  readonly rcpt: string;
  /** The recipient after expansion. */
  readonly dest: string;
}

/** The steps of a delivery that run with a user's rights. */
export interface DeliveryAgents {
  /** Runs an `mda` action's command, the message on its standard input. */
  runActionMda(request: MdaActionRequest, content: Uint8Array): Promise<DeliveryResult>;
  /** Runs a `|command` target, the message on its standard input. */
  runPipe(request: PipeRequest, content: Uint8Array): Promise<DeliveryResult>;
  /**
   * The entries of the user's ~/.forward, or undefined when there is none or it is unsafe;
   * kept for a moment (FORWARD_KEPT_MS), unless `fresh` asks for the file as it is now.
   */
  readForward(
    user: DeliveryUser,
    read?: { readonly fresh?: boolean },
  ): Promise<string[] | undefined>;
  /** The text of an `:include:` file. */
  readInclude(path: string): Promise<string>;
  /**
   * Who appends to the mbox `path` in the system spool: the user, with the spool's group
   * where only that group may write it, the mailbox made for the user where only root may
   * (mail_spool.ts). An unprivileged front leaves that to its parent.
   */
  spoolIdentity(user: DeliveryUser, spool: string, path: string): Promise<DeliveryUser>;
}

/** Options of {@link createLocalAgents}. */
export interface LocalAgentsOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Commands run with their user's uid and gid (this process is root). */
  readonly asUsers: boolean;
}

/** The agents that do every step in this process (started as the users when root). */
export function createLocalAgents(options: LocalAgentsOptions): DeliveryAgents {
  const { config } = options;
  const actions = new Map(config.actions.map((a) => [a.name, a] as const));
  const ownUid = safeUid();
  return {
    runActionMda(request, content) {
      const action = actions.get(request.action);
      if (action?.method.kind !== "mda") {
        return Promise.resolve(permfail(`action "${request.action}" is not an mda action`));
      }
      return runMda({
        command: mdaCommandFor(config, action, request.vars),
        content,
        sender: request.sender,
        rcpt: request.rcpt,
        dest: request.dest,
        user: request.user,
        ...(request.extension === undefined ? {} : { extension: request.extension }),
        ...(options.asUsers ? { asUser: true } : {}),
      });
    },
    runPipe(request, content) {
      // The command comes from the aliases table or the user's own ~/.forward, never
      // from the envelope: it is run as written.
      return runMda({
        command: request.command,
        content,
        sender: request.sender,
        rcpt: request.rcpt,
        dest: request.dest,
        user: request.user,
        ...(options.asUsers && request.user.uid !== ownUid ? { asUser: true } : {}),
      });
    },
    readForward: (user, read) => readForwardFile(user, options.log, read),
    readInclude: (path) => Deno.readTextFile(path),
    spoolIdentity: (user, spool, path) =>
      options.asUsers && user.uid !== ownUid
        ? spoolWriter(user, spool, path)
        : Promise.resolve(user),
  };
}

/**
 * The command line of an `mda` action for one delivery: its format specifiers expanded,
 * every value made inert to the shell, and the action's `wrapper` around it.
 */
export function mdaCommandFor(config: Config, action: Action, vars: FormatVars): string {
  if (action.method.kind !== "mda") throw new Error(`action "${action.name}" is not an mda`);
  // `:strip` cuts where this configuration says (the privileged parent gets no delimiter).
  vars = { ...vars, subAddrDelim: config.smtp.subAddrDelim };
  let command = expandFormat(action.method.command, vars, { escape: shellSafe });
  const wrapper = action.wrapper ? config.mdaWrappers.get(action.wrapper) : undefined;
  if (wrapper !== undefined) {
    // The wrapper takes format specifiers too; %{mda} is the command it wraps.
    command = wrapper.split("%{mda}")
      .map((part) => expandFormat(part, vars, { escape: shellSafe }))
      .join(command);
  }
  return command;
}

function safeUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
