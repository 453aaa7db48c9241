// What a command's check returns: a refusal, or the argument it parsed, which reaches the
// command's run unparsed again (OpenSMTPD's smtp_check_* / smtp_proceed_* split).

import type { Reply } from "./replies.ts";

/**
 * The outcome of a check. A `protocol-error` refusal counts toward the session's error
 * limit (`maxErrors`); a `refusal` (policy, parameter values) does not; after a `hang-up`
 * the session cannot go on, and its connection is closed.
 */
export type CheckResult<A> =
  | { readonly kind: "accept"; readonly argument: A }
  | { readonly kind: "protocol-error"; readonly reply: Reply }
  | { readonly kind: "refusal"; readonly reply: Reply }
  | { readonly kind: "hang-up"; readonly reply: Reply };

/** The command may run, with this argument. */
export function accept<A>(argument: A): CheckResult<A> {
  return { kind: "accept", argument };
}

/** A refusal that counts as a protocol error (syntax, sequence). */
export function protocolError(reply: Reply): CheckResult<never> {
  return { kind: "protocol-error", reply };
}

/** A refusal that does not count as a protocol error. */
export function refusal(reply: Reply): CheckResult<never> {
  return { kind: "refusal", reply };
}

/**
 * A refusal after which the input cannot be read on (where the next command starts is
 * unknown): the session replies and closes the connection.
 */
export function hangUp(reply: Reply): CheckResult<never> {
  return { kind: "hang-up", reply };
}
