// What the unprivileged front uses in place of the steps it has no rights for: mailbox
// writes, mda and |command runs, ~/.forward and :include: reads, and system-account AUTH,
// each one request to the privileged parent over the channel (the mailbox writes of one
// message for one user together in one, or straight to a writer the parent started).

import type { Authenticator } from "../auth/mod.ts";
import {
  type DeliveryAgents,
  type DeliveryUser,
  deliveryUserKey,
  FORWARD_KEPT_MS,
  type MailboxWriter,
  RefusedRequest,
} from "../delivery/mod.ts";
import { type DeliveryResult, permfail, tempfail } from "../mail/mod.ts";
import type { PrivilegedParent } from "../daemon/mod.ts";
import { type Logger, trace } from "../log/mod.ts";
import type { PrivsepClient } from "./client.ts";
import { directMailboxWriter, type DirectWriterOptions } from "./front_writers.ts";
import type { MailboxAnswer, PrivsepAnswer } from "./protocol.ts";

/**
 * The privileged steps of a front, all answered by its parent; with `direct`, mailbox
 * writes go to writers the parent starts for the front (front_writers.ts).
 */
export function parentServices(
  client: PrivsepClient,
  direct?: Omit<DirectWriterOptions, "log"> & { readonly log: Logger },
): PrivilegedParent {
  const viaParent = parentMailboxWriter(client);
  return {
    writer: direct ? directMailboxWriter(client, viaParent, direct) : viaParent,
    agents: parentAgents(client),
    authenticate: parentAuthenticator(client),
    async reloadTable(name) {
      const answer = await client.ask({ kind: "table", name });
      if (answer.kind !== "table-reloaded") throw refusalError(answer);
    },
  };
}

function parentMailboxWriter(client: PrivsepClient): MailboxWriter {
  return {
    async write(user, request, content) {
      const answer = await client.ask({ kind: "mailbox", user, request }, content);
      if (answer.kind !== "written") throw refusalError(answer);
    },
    async writeMany(user, requests, content) {
      trace("imsg", () => `front -> parent: ${requests.length} mailbox writes for ${user.name}`);
      const answer = await client.ask({ kind: "mailboxes", user, requests }, content);
      // A refusal of the whole request (the channel broke) is every write's.
      const each: readonly (MailboxAnswer | PrivsepAnswer)[] = answer.kind === "written-each"
        ? answer.results
        : requests.map(() => answer);
      return requests.map((_, n) => {
        const item = each[n] ?? { kind: "refused", reason: "no answer for the write" } as const;
        if (item.kind === "written") return {};
        return isPermanent(item)
          ? { error: refusal(item), permanent: true }
          : { error: refusal(item) };
      });
    },
    close: () => Promise.resolve(),
  };
}

function parentAgents(client: PrivsepClient): DeliveryAgents {
  const delivery = (answer: PrivsepAnswer): DeliveryResult => {
    if (answer.kind === "delivery") return answer.result;
    // A request the parent refuses would be refused again: a permanent failure. A parent
    // that could not answer (the channel broke) is worth another try.
    return isPermanent(answer) ? permfail(answer.reason) : tempfail(refusal(answer));
  };
  return {
    runActionMda: async (request, content) =>
      delivery(await client.ask({ kind: "mda", request }, content)),
    runPipe: async (request, content) =>
      delivery(await client.ask({ kind: "pipe", request }, content)),
    readForward: sharedAndKept(async (user) => {
      const answer = await client.ask({ kind: "forward", user });
      if (answer.kind !== "forward") throw refusalError(answer);
      return answer.entries === null ? undefined : answer.entries;
    }),
    async readInclude(path) {
      const answer = await client.ask({ kind: "include", path });
      if (answer.kind !== "include") throw refusalError(answer);
      return answer.text;
    },
    // The parent looks at the spool's modes when it writes the mailbox.
    spoolIdentity: (user) => Promise.resolve(user),
  };
}

// The recipients of one message that are the same user ask for its ~/.forward at the same
// moment: they share one question to the parent (and so go on to their mailbox writes
// together), and each gets its own copy of the answer. The answer is kept as long as the
// daemon without a parent keeps the file's (FORWARD_KEPT_MS), so that a user's next
// messages ask nothing; a question that failed is not kept.
export function sharedAndKept(
  read: (user: DeliveryUser) => Promise<readonly string[] | undefined>,
  now: () => number = Date.now,
): (user: DeliveryUser) => Promise<string[] | undefined> {
  const asked = new Map<string, { answer: Promise<readonly string[] | undefined>; at?: number }>();
  const expired = (entry: { at?: number }) =>
    entry.at !== undefined && now() - entry.at >= FORWARD_KEPT_MS;
  return async (user) => {
    const key = deliveryUserKey(user);
    let entry = asked.get(key);
    if (!entry || expired(entry)) {
      if (asked.size >= KEPT_USERS) {
        for (const [k, e] of asked) if (expired(e)) asked.delete(k);
      }
      const created: { answer: Promise<readonly string[] | undefined>; at?: number } = {
        answer: read(user),
      };
      created.answer.then(() => created.at = now(), () => {
        if (asked.get(key) === created) asked.delete(key);
      });
      asked.set(key, created);
      entry = created;
    }
    const entries = await entry.answer;
    return entries === undefined ? undefined : [...entries];
  };
}

/** Users past which kept answers are swept for expired ones. */
const KEPT_USERS = 1000;

function parentAuthenticator(client: PrivsepClient): Authenticator {
  return async (user, password) => {
    const answer = await client.ask({ kind: "auth", user, password });
    if (answer.kind !== "auth") return { ok: false, reason: refusal(answer) };
    return answer.ok ? { ok: true } : { ok: false, reason: answer.reason ?? "refused" };
  };
}

// A request the parent refuses for good (it failed a check) fails its delivery for good:
// the router bounces a RefusedRequest at once. One it could not do now is retried.
function isPermanent(
  answer: PrivsepAnswer,
): answer is Extract<PrivsepAnswer, { kind: "refused" }> {
  return answer.kind === "refused" && answer.permanent === true;
}

function refusalError(answer: PrivsepAnswer): Error {
  return isPermanent(answer) ? new RefusedRequest(refusal(answer)) : new Error(refusal(answer));
}

// A "refused" answer that is not permanent is a request the parent could not do (a writer
// killed, a channel gone): its reason says what happened, and nothing was refused.
function refusal(answer: PrivsepAnswer): string {
  if (answer.kind !== "refused") return `the privileged parent answered "${answer.kind}"`;
  return answer.permanent ? `the privileged parent refused: ${answer.reason}` : answer.reason;
}
