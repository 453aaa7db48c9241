// The queue as the configuration describes it — compression, encryption key, lifetimes
// per action — and the route reports take through the ruleset. Shared by the daemon
// and the commands that open the queue themselves (sendmail, mailq, queue flush).

import { type Config, parseQueueKey } from "../config/mod.ts";
import { openQueue, type Queue, type QueueOptions } from "../queue/mod.ts";
import type { Ruleset, SessionFacts } from "../rules/mod.ts";

/** Opens the queue of a configuration; a bad or wrong key is an error here. */
export async function openConfiguredQueue(
  config: Config,
  dir: string,
  options: Pick<
    QueueOptions,
    "log" | "leaseOnCommit" | "now" | "busyTimeoutMs" | "backgroundCheckpoints"
  > = {},
): Promise<Queue> {
  const ttls = new Map(
    config.actions.flatMap((a) => a.ttl === undefined ? [] : [[a.name, a.ttl] as const]),
  );
  return await openQueue(dir, {
    ...options,
    compression: config.queue.compression,
    ...(config.queue.encryption ? { key: await queueKey(config.queue.encryption.key) } : {}),
    ttl: (action) => ttls.get(action) ?? config.queue.ttl,
  });
}

// `queue encryption KEY`; without a key, or with `stdin` or `-`, the key is taken from
// $SMTPD_QUEUE_KEY when set, else read from standard input as OpenSMTPD reads it. The
// commands that read a message from standard input (sendmail) need the variable.
async function queueKey(text: string | undefined): Promise<Uint8Array> {
  if (text !== undefined && text !== "stdin" && text !== "-") return parseQueueKey(text);
  const fromEnv = Deno.env.get("SMTPD_QUEUE_KEY");
  if (fromEnv) return parseQueueKey(fromEnv);
  const input = await new Response(Deno.stdin.readable).text();
  const line = input.split("\n")[0] ?? "";
  if (line.trim() === "") throw new Error("queue encryption: no key on standard input");
  return parseQueueKey(line);
}

/** A submission from this machine's own socket, as the ruleset sees it. */
export const LOCAL_SESSION: SessionFacts = { src: "local", local: true, socket: true, tls: false };

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
