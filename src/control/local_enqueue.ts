// The one way a local submission becomes queued mail, whoever carries it (sendmail
// writing the queue itself, the daemon's socket, an offline file): the message prepared
// byte for byte (enqueue.ts), every recipient through the rules as from the local socket,
// one commit. The answer is a sysexits(3) code and the reason.

import { encodeXtext, errorMessage, EX, randomHex } from "../mail/mod.ts";
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
  /**
   * Where filters apply to local mail (`listen on socket filter …`, `match … filter …`):
   * the message is spoken into an SMTP session of its own, which decides, filters and
   * commits it, in place of `decide` and `commit`.
   */
  throughSession?(message: SessionSubmission): Promise<SessionSubmissionOutcome>;
  /** `listen on socket no-dsn`: the submission's DSN requests (-N, -R, -V) are dropped. */
  readonly noDsn?: boolean;
}

/** A prepared message as a session is given it. */
export interface SessionSubmission {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly content: Uint8Array;
  readonly mailParameters?: string;
  readonly rcptParameters?: string;
}

/** The session's answer: the queue id, or the reply that refused the message at a step. */
export type SessionSubmissionOutcome =
  | { readonly ok: true; readonly msgid: string }
  | { readonly ok: false; readonly step: string; readonly reply: string };

/** The outcome: exit 0 with the queue id, or a sysexits(3) code with the reason. */
export type LocalEnqueueOutcome =
  | { readonly exit: 0; readonly msgid: string; readonly sender: string; readonly rcpts: number }
  | { readonly exit: number; readonly error: string };

/** Prepares, decides and queues one message submitted by the local user `user`. */
export async function queueLocalSubmission(
  context: LocalEnqueueContext,
  request: { submission: LocalSubmission; input: Uint8Array; user: string; now?: Date },
): Promise<LocalEnqueueOutcome> {
  const submission = context.noDsn ? withoutDsn(request.submission) : request.submission;
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
  if (context.throughSession) {
    return fromSession(
      await context.throughSession(sessionSubmission(prepared, submission)),
      prepared,
    );
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

// The session adds its own Received: field, so ours is left out; the DSN options become
// the MAIL and RCPT parameters of RFC 3461 (ENVID as xtext).
function sessionSubmission(
  prepared: ReturnType<typeof prepareMessage>,
  submission: LocalSubmission,
): SessionSubmission {
  const mail = [
    ...(submission.ret ? [`RET=${submission.ret}`] : []),
    ...(submission.envid ? [`ENVID=${encodeXtext(submission.envid)}`] : []),
  ];
  return {
    sender: prepared.sender,
    recipients: prepared.recipients,
    content: prepared.content.subarray(prepared.receivedLength),
    ...(mail.length ? { mailParameters: mail.join(" ") } : {}),
    ...(submission.notify ? { rcptParameters: `NOTIFY=${submission.notify.join(",")}` } : {}),
  };
}

// A refused recipient is an unknown user (67), a refusal for now a tempfail (75), any
// other refusal (a filter's, at the data) unavailable (69), as sendmail(8) exits.
function fromSession(
  outcome: SessionSubmissionOutcome,
  prepared: ReturnType<typeof prepareMessage>,
): LocalEnqueueOutcome {
  if (outcome.ok) {
    return {
      exit: EX.OK,
      msgid: outcome.msgid,
      sender: prepared.sender,
      rcpts: prepared.recipients.length,
    };
  }
  const reply = outcome.reply;
  const code = /(?:^|: )([245])\d\d[ -]/.exec(reply)?.[1];
  const exit = code === "4" ? EX.TEMPFAIL : outcome.step === "rcpt" ? EX.NOUSER : EX.UNAVAILABLE;
  return { exit, error: reply };
}

function withoutDsn(submission: LocalSubmission): LocalSubmission {
  const { notify: _notify, ret: _ret, envid: _envid, ...rest } = submission;
  return rest;
}
