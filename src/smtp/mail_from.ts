// MAIL FROM (RFC 5321 §4.1.1.2): checkMailFrom makes every refusal (TLS and AUTH
// requirements, the message limit, the path, its parameters, the sender's ownership, which
// may wait for its table) and hands what it parsed to runMailFrom, which opens the
// transaction.

import { isUtf8Address, parsePathArgument } from "./address.ts";
import { accept, type CheckResult, protocolError, refusal } from "./check_result.ts";
import { type MailDsn, parseMailDsn } from "./dsn.ts";
import { checkMailParameters, refuseParameterSyntax } from "./parameters.ts";
import { REPLIES, withText } from "./replies.ts";
import type { Session } from "./session.ts";
import { Transaction } from "./transaction.ts";
import { report } from "./filtering.ts";
import { errorMessage } from "../mail/mod.ts";

/** A MAIL FROM the check accepted. */
export interface MailFromArgument {
  /** The sender, "" for the null path. */
  readonly address: string;
  readonly params: ReadonlyMap<string, string>;
  readonly dsn: MailDsn;
  readonly smtputf8: boolean;
}

/** `MAIL FROM:<path> [params]`, with `args` as it follows the verb. */
export function checkMailFrom(
  s: Session,
  args: string,
): CheckResult<MailFromArgument> | Promise<CheckResult<MailFromArgument>> {
  if (s.tlsMissing) return protocolError(REPLIES.tlsRequired);
  if (s.authMissing) return protocolError(REPLIES.authRequired);
  if (!/^FROM:/i.test(args)) return protocolError(REPLIES.syntax);
  if (s.messageCount >= s.limits.maxMails) return protocolError(REPLIES.tooManyMessages);
  const path = parsePathArgument(args.slice(5), { domain: s.context.hostname });
  if ("error" in path) {
    return path.error === "path"
      ? protocolError(REPLIES.senderSyntax)
      : refusal(refuseParameterSyntax(path));
  }
  const dsnOn = s.context.dsn !== false;
  const badParameter = checkMailParameters(path.params, {
    maxMessageSize: s.limits.maxMessageSize,
    dsn: dsnOn,
  });
  if (badParameter) return refusal(badParameter);
  const dsn = parseMailDsn(dsnOn ? path.params : new Map());
  if ("error" in dsn) return refusal(withText(REPLIES.syntax, dsn.error));
  const smtputf8 = path.params.has("SMTPUTF8");
  // RFC 6531 §3.7.4.1: a UTF-8 address needs SMTPUTF8 on MAIL FROM.
  if (isUtf8Address(path.address) && !smtputf8) return refusal(REPLIES.utf8Required);
  const mail = { address: path.address, params: path.params, dsn: dsn.dsn, smtputf8 };
  const user = s.facts.authUser;
  const allowed = s.context.auth?.senderAllowed;
  if (user === undefined || !allowed) return accept(mail);
  // The senders table may be answered by a server: the check then waits for it.
  let owned: boolean | Promise<boolean>;
  try {
    owned = allowed(user, path.address);
  } catch (error) {
    return ownerUnknown(s, user, mail.address, error);
  }
  if (typeof owned === "boolean") return ownership(s, user, mail, owned);
  return owned.then(
    (yes) => ownership(s, user, mail, yes),
    (error) => ownerUnknown(s, user, mail.address, error),
  );
}

function ownership(
  s: Session,
  user: string,
  mail: MailFromArgument,
  owned: boolean,
): CheckResult<MailFromArgument> {
  if (owned) return accept(mail);
  s.context.log.info(`smtp-in: session ${s.id} user=${user} may not send as <${mail.address}>`);
  return refusal(REPLIES.senderNotOwned);
}

// A senders table that cannot answer now: the client may try again (never a 553).
function ownerUnknown(s: Session, user: string, sender: string, error: unknown) {
  s.context.log.warn(
    `smtp-in: session ${s.id} user=${user} sender=<${sender}> tempfail: ${errorMessage(error)}`,
  );
  return refusal(REPLIES.tempFailure);
}

/** Opens the transaction. */
export function runMailFrom(s: Session, mail: MailFromArgument): void {
  const msgid = s.context.newMsgid?.();
  const budget = s.context.dataBudget;
  const tx = new Transaction(mail.address, {
    params: mail.params,
    maxSize: s.limits.maxMessageSize,
    ...(msgid === undefined ? {} : { msgid }),
    ...(budget ? { budget } : {}),
  });
  tx.dsn = mail.dsn;
  tx.smtputf8 = mail.smtputf8;
  s.transaction = tx;
  // A junk verdict given before the transaction carries over to it.
  tx.junk = s.junk;
  report(s, "tx-begin", () => [tx.msgid]);
  report(s, "tx-mail", () => [tx.msgid, "ok", mail.address]);
  s.enter("mail");
  s.reply(REPLIES.ok);
}
