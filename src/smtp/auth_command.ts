// AUTH (RFC 4954) in the session: checkAuth refuses what cannot start, runAuth starts the
// SASL exchange, and continueSasl acts on each step of it. The mechanisms are in sasl.ts.

import { report } from "./filtering.ts";
import { accept, type CheckResult, protocolError } from "./check_result.ts";
import { REPLIES } from "./replies.ts";
import { type SaslExchange, type SaslStep, startSasl } from "./sasl.ts";
import type { Session } from "./session.ts";

// Failed AUTH attempts a session may make before it is closed.
const MAX_AUTH_FAILURES = 3;

const AUTH_REGEXP = /^([A-Za-z0-9_-]+)(?: ([^ ]+))?$/;

/** An exchange the check started: the mechanism is offered and the initial response read. */
export interface StartedSasl {
  readonly exchange: SaslExchange;
  readonly first: SaslStep;
}

/** `AUTH mechanism [initial-response]`: offered now, well-formed, a mechanism we have. */
export function checkAuth(s: Session, args: string): CheckResult<StartedSasl> {
  if (!s.canAuthenticate) {
    return protocolError(s.authenticated ? REPLIES.authAlready : REPLIES.notSupported);
  }
  const m = AUTH_REGEXP.exec(args.trim());
  if (!m) return protocolError(REPLIES.syntax);
  const started = startSasl(m[1]!, m[2]);
  return started ? accept(started) : protocolError(REPLIES.authMechanism);
}

/** Enters the exchange and answers its first step. */
export function runAuth(s: Session, started: StartedSasl): Promise<void> {
  s.beginSasl(started.exchange);
  return continueSasl(s, started.first);
}

/** Acts on one step: a challenge, a refusal, or the credentials to check. */
export async function continueSasl(s: Session, step: SaslStep): Promise<void> {
  switch (step.kind) {
    case "challenge":
      return s.reply({ code: 334, text: step.text });
    case "error":
      s.endSasl();
      s.loggedCommand = step.logged;
      return s.protocolError(
        step.reason === "cancelled" ? REPLIES.authCancelled : REPLIES.authSyntax,
      );
    case "credentials":
      s.endSasl();
      return await checkCredentials(s, step.user, step.password);
  }
}

async function checkCredentials(s: Session, user: string, password: string): Promise<void> {
  const { auth, log } = s.context;
  const result = await auth!.check(user, password);
  if (result.ok) {
    s.facts.authUser = user;
    report(s, "link-auth", () => ["pass", user]);
    s.event("authentication", { user: loggableUser(user), result: "ok" });
    return s.reply(REPLIES.authOk);
  }
  // A credentials table that cannot answer now is "try again later" (RFC 4954 §6).
  const temporary = result.temporary === true;
  // smtpd-filters(7): link-auth reports "error" when the check itself failed.
  report(s, "link-auth", () => [temporary ? "error" : "fail", user]);
  s.event("authentication", {
    user: loggableUser(user),
    result: temporary ? "tempfail" : "permfail",
  });
  if (result.reason) log.debug(`smtp-in: session ${s.id} authentication failed: ${result.reason}`);
  // The failure answers the password, as OpenSMTPD's log names it.
  s.loggedCommand = s.loggedCommand.startsWith("AUTH LOGIN")
    ? "AUTH LOGIN (password)"
    : "AUTH PLAIN (...)";
  if (temporary) return s.reply(REPLIES.authTemporary);
  // Failures are answered late, so guessing is slow; too many end the session.
  s.flush();
  const delay = s.context.authFailureDelayMs ?? 500 + Math.random() * 500;
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  s.reply(REPLIES.authFailed);
  if (++s.authFailures >= MAX_AUTH_FAILURES) {
    s.reply(REPLIES.tooManyAuthFailures);
    s.close();
  }
}

// strnvis(VIS_WHITE | VIS_SAFE) in spirit: a user name cannot forge fields or lines.
function loggableUser(user: string): string {
  return user.replace(
    // deno-lint-ignore no-control-regex
    /[\s\x00-\x1f\x7f]/g,
    (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`,
  );
}
