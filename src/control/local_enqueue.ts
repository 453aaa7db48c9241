// The one way a local submission becomes queued mail, whoever carries it (sendmail
// writing the queue itself, the daemon's socket, an offline file): the message prepared
// byte for byte (enqueue.ts), every recipient through the rules as from the local socket,
// one commit. The answer is a sysexits(3) code and the reason.

import { errorMessage, EX, randomHex } from "../mail/mod.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { EnvelopeFacts, RuleVerdict } from "../rules/mod.ts";
import { EnqueueError, prepareMessage } from "./enqueue.ts";
import type { LocalSubmission } from "./submission.ts";

/** What queueing a local message needs from the runtime. */
export interface LocalEnqueueContext {
  /** The name that qualifies bare user names and goes into the added headers. */
  readonly hostname: string;
  readonly maxMessageSize: number;
  /** The rules, as they see a local submission (`from local`, `from socket`). */
  decide(envelope: EnvelopeFacts): Promise<RuleVerdict> | RuleVerdict;
  /** Commits the message and its envelopes durably. */
  commit(message: NewMessage): Promise<unknown>;
}

/** The outcome: exit 0 with the queue id, or a sysexits(3) code with the reason. */
export type LocalEnqueueOutcome =
  | { readonly exit: 0; readonly msgid: string; readonly sender: string; readonly rcpts: number }
  | { readonly exit: number; readonly error: string };

/** Prepares, decides and queues one message submitted by the local user `user`. */
export async function queueLocalSubmission(
  context: LocalEnqueueContext,
  request: { submission: LocalSubmission; input: Uint8Array; user: string; now?: Date },
): Promise<LocalEnqueueOutcome> {
  const { submission } = request;
  const msgid = randomHex(4);
  let prepared;
  try {
    prepared = prepareMessage({
      input: request.input,
      recipients: submission.recipients,
      ...(submission.sender === undefined ? {} : { sender: submission.sender }),
      ...(submission.fullName === undefined ? {} : { fullName: submission.fullName }),
      extractRecipients: submission.extractRecipients,
      ignoreDots: submission.ignoreDots,
      hostname: context.hostname,
      user: request.user,
      msgid,
      now: request.now ?? new Date(),
    });
  } catch (error) {
    return {
      exit: error instanceof EnqueueError ? EX.USAGE : EX.SOFTWARE,
      error: errorMessage(error),
    };
  }
  if (prepared.content.byteLength > context.maxMessageSize) {
    return {
      exit: EX.DATAERR,
      error: `message too large (${prepared.content.byteLength} bytes, ` +
        `the limit is ${context.maxMessageSize})`,
    };
  }
  // One refused recipient refuses the message, so nothing is half sent.
  const envelopes = [];
  for (const rcpt of prepared.recipients) {
    const verdict = await context.decide({ mailFrom: prepared.sender, rcptTo: rcpt });
    if (verdict.kind !== "accept") {
      return {
        exit: verdict.kind === "tempfail" ? EX.TEMPFAIL : EX.NOUSER,
        error: `<${rcpt}>: ${verdict.reason}`,
      };
    }
    envelopes.push({
      rcpt,
      action: verdict.action,
      ...(verdict.user === undefined ? {} : { user: verdict.user }),
      ...(submission.notify ? { dsnNotify: [...submission.notify] } : {}),
    });
  }
  try {
    await context.commit({
      msgid,
      sender: prepared.sender,
      helo: "localhost",
      src: "local",
      content: prepared.content,
      envelopes,
      ...(submission.ret ? { dsnRet: submission.ret } : {}),
      ...(submission.envid ? { dsnEnvid: submission.envid } : {}),
    });
  } catch (error) {
    return { exit: EX.TEMPFAIL, error: `cannot queue the message: ${errorMessage(error)}` };
  }
  return { exit: EX.OK, msgid, sender: prepared.sender, rcpts: envelopes.length };
}
