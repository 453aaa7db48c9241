// RCPT TO (RFC 5321 §4.1.1.3): checkRcptTo makes every refusal of syntax, limits and
// parameters and parses the path once; runRcptTo asks the rules and records the verdict.

import type { RuleVerdict } from "../rules/mod.ts";
import { isUtf8Address, parsePathArgument } from "./address.ts";
import { accept, type CheckResult, protocolError, refusal } from "./check_result.ts";
import { parseRcptDsn, type RcptDsn } from "./dsn.ts";
import { checkRcptParameters, refuseParameterSyntax } from "./parameters.ts";
import { parseReply, REPLIES, type Reply, withText } from "./replies.ts";
import type { Session } from "./session.ts";
import { filterRuleRecipient, report } from "./filtering.ts";

/** A RCPT TO the check accepted. */
export interface RcptToArgument {
  readonly address: string;
  readonly dsn: RcptDsn;
}

/** `RCPT TO:<path> [params]`, with `args` as it follows the verb. */
export function checkRcptTo(s: Session, args: string): CheckResult<RcptToArgument> {
  if (!/^TO:/i.test(args)) return protocolError(REPLIES.syntax);
  const path = parsePathArgument(args.slice(3), { domain: s.context.hostname });
  if ("error" in path) {
    return path.error === "path"
      ? protocolError(REPLIES.recipientSyntax)
      : refusal(refuseParameterSyntax(path));
  }
  // RFC 5321 §4.5.3.1.10: too many recipients is a normal reply (the client sends the rest
  // in a later transaction), not a client error; pipelined batches meet it every time.
  if (s.recipientCount >= s.limits.maxRcpt) return refusal(REPLIES.tooManyRecipients);
  // RFC 5321 §4.1.1.3: a forward-path is never the null path.
  if (path.address === "") return protocolError(REPLIES.recipientSyntax);
  const badParameter = checkRcptParameters(path.params, { dsn: s.context.dsn !== false });
  if (badParameter) return refusal(badParameter);
  const dsn = parseRcptDsn(path.params, { smtputf8: s.transaction?.smtputf8 === true });
  if ("error" in dsn) return refusal(withText(REPLIES.syntax, dsn.error));
  if (isUtf8Address(path.address) && s.transaction?.smtputf8 !== true) {
    return refusal(REPLIES.utf8Required);
  }
  return accept({ address: path.address, dsn: dsn.dsn });
}

/** Asks the rules about the recipient (once the client's name is known) and answers. */
export function runRcptTo(s: Session, rcpt: RcptToArgument): void | Promise<void> {
  // The rules may ask about the client's name: wait for the lookup once.
  const lookup = s.rdnsLookup;
  if (lookup) return lookup.then(() => runRcptTo(s, rcpt));
  const tx = s.transaction!;
  const verdict = s.context.decide(s.facts, { mailFrom: tx.sender, rcptTo: rcpt.address });
  if (verdict instanceof Promise) return verdict.then((v) => recordVerdict(s, v, rcpt));
  return recordVerdict(s, verdict, rcpt);
}

function recordVerdict(
  s: Session,
  verdict: RuleVerdict,
  rcpt: RcptToArgument,
): void | Promise<void> {
  const tx = s.transaction;
  if (!tx) return;
  const { address } = rcpt;
  const { log } = s.context;
  if (verdict.kind !== "accept") {
    report(
      s,
      "tx-rcpt",
      () => [tx.msgid, verdict.kind === "reject" ? "permfail" : "tempfail", address],
    );
  }
  if (verdict.kind === "accept" && verdict.filters && s.filters) {
    // `match … filter NAME`: the rule's chain is asked about the recipient it accepted.
    const filters = verdict.filters;
    return filterRuleRecipient(s, filters.join(","), address).then((step) => {
      if (step.go) accepted(s, { ...verdict, filters: undefined }, rcpt);
    });
  }
  if (verdict.kind === "reject") {
    log.info(`smtp-in: session ${s.id} rcpt=<${address}> refused: ${verdict.reason}`);
    return s.reply(verdict.reply ? parseReply(verdict.reply) : invalidRecipient(address));
  }
  if (verdict.kind === "tempfail") {
    log.warn(`smtp-in: session ${s.id} rcpt=<${address}> tempfail: ${verdict.reason}`);
    return s.reply(verdict.reply ? parseReply(verdict.reply) : REPLIES.tempFailure);
  }
  accepted(s, verdict, rcpt);
}

function accepted(
  s: Session,
  verdict: Extract<RuleVerdict, { kind: "accept" }>,
  rcpt: RcptToArgument,
): void {
  const tx = s.transaction!;
  const { address, dsn } = rcpt;
  tx.recipients.push(address);
  tx.envelopes.push({
    rcpt: address,
    action: verdict.action,
    ...(verdict.user === undefined ? {} : { user: verdict.user }),
    ...(verdict.dest === undefined ? {} : { dest: verdict.dest }),
    ...(dsn.notify ? { dsnNotify: dsn.notify } : {}),
    ...(dsn.orcpt ? { dsnOrcpt: dsn.orcpt } : {}),
  });
  report(s, "tx-rcpt", () => [tx.msgid, "ok", address]);
  s.enter("rcpt");
  s.reply(REPLIES.recipientOk);
}

/** `550 5.1.1 Invalid recipient: <addr>` */
function invalidRecipient(address: string): Reply {
  return withText(REPLIES.invalidRecipient, `${REPLIES.invalidRecipient.text}: <${address}>`);
}
