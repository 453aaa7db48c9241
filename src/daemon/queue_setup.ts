// The queue as the configuration describes it — compression, encryption key, lifetimes
// per action — and the route reports take through the ruleset. Shared by the daemon
// and the commands that open the queue themselves (sendmail, mailq, queue flush).

import { type Config, parseQueueKey } from "../config/mod.ts";
import { openQueue, type Queue, type QueueOptions } from "../queue/mod.ts";
import type { Ruleset, SessionFacts } from "../rules/mod.ts";
import { keyComesFromInput, QUEUE_KEY_VARIABLE, readQueueKeyInput } from "./queue_key_input.ts";

/** Opens the queue of a configuration; a bad or wrong key is an error here. */
export async function openConfiguredQueue(
  config: Config,
  dir: string,
  options:
    & Pick<
      QueueOptions,
      "log" | "leaseOnCommit" | "now" | "busyTimeoutMs" | "backgroundCheckpoints"
    >
    & KeyInputOptions = {},
): Promise<Queue> {
  const ttls = new Map(
    config.actions.flatMap((a) => a.ttl === undefined ? [] : [[a.name, a.ttl] as const]),
  );
  const { inputHoldsMessageOf, ...queueOptions } = options;
  return await openQueue(dir, {
    ...queueOptions,
    compression: config.queue.compression,
    ...(config.queue.encryption ? { key: await queueKey(config, inputHoldsMessageOf) } : {}),
    ttl: (action) => ttls.get(action) ?? config.queue.ttl,
  });
}

/** Options of {@link openConfiguredQueue} about where a key may come from. */
export interface KeyInputOptions {
  /** The command whose standard input is the message (sendmail): no key can come from it. */
  readonly inputHoldsMessageOf?: string;
}

// `queue encryption KEY`, or the key from the environment or standard input.
async function queueKey(config: Config, inputHoldsMessageOf?: string): Promise<Uint8Array> {
  const text = config.queue.encryption?.key;
  if (!keyComesFromInput(config)) return parseQueueKey(text!);
  if (inputHoldsMessageOf !== undefined && !Deno.env.get(QUEUE_KEY_VARIABLE)) {
    throw new Error(
      `queue encryption: ${inputHoldsMessageOf} needs the key in $${QUEUE_KEY_VARIABLE} or in ` +
        "the configuration file (standard input holds the message)",
    );
  }
  return parseQueueKey(await readQueueKeyInput());
}

/** A submission from this machine's own socket, as the ruleset sees it. */
export const LOCAL_SESSION: SessionFacts = { src: "local", local: true, socket: true, tls: false };

/**
 * The session of mail sendmail submits, as the rules see it: {@link LOCAL_SESSION} with
 * the `tag` of `listen on socket`, the listener local mail comes in through.
 */
export function localSubmissionSession(config: Config): SessionFacts {
  const tag = config.listeners.find((l) => l.address === "socket")?.tag;
  return tag === undefined ? LOCAL_SESSION : { ...LOCAL_SESSION, tag };
}

/** Whether `listen on socket no-dsn` turns DSN off for local submissions. */
export function localSubmissionNoDsn(config: Config): boolean {
  return config.listeners.some((l) => l.address === "socket" && l.noDsn === true);
}

/**
 * An address an expansion produced (an alias to another address, a virtual entry naming
 * an external one) goes back through the rules as a local submission from the sender;
 * a report goes the same way from the null sender (OpenSMTPD's behaviour). The first
 * rule that accepts it decides its action; none means it is not delivered.
 */
export function routeExpanded(
  ruleset: Ruleset,
  address: string,
  sender: string,
): { action: string; user?: string } | undefined {
  const verdict = ruleset(LOCAL_SESSION, { mailFrom: sender, rcptTo: address });
  if (verdict.kind !== "accept") return undefined;
  return verdict.user === undefined
    ? { action: verdict.action }
    : { action: verdict.action, user: verdict.user };
}

/** Where a report to `rcpt` goes: a local submission from `<>`. */
export function routeReport(
  ruleset: Ruleset,
  rcpt: string,
): { action: string; user?: string } | undefined {
  return routeExpanded(ruleset, rcpt, "");
}
