// The session's side of the filter chain: which command is which smtpd-filters(7) phase,
// what a chain's outcome does to the session (reject, disconnect, rewrite, junk), report
// events, and failing closed when a filter cannot answer.

import { Buffer } from "node:buffer";
import { errorMessage } from "../mail/mod.ts";
import type { ChainOutcome, ChainRewrite, FilterPhase, SessionFilters } from "../filters/mod.ts";
import type { Command } from "./commands.ts";
import { checkRewrite } from "./filter_rewrite.ts";
import { parseReply, REPLIES, type Reply } from "./replies.ts";
import type { Session } from "./session.ts";
import { reportConnect } from "./filter_view.ts";

/** The phase each verb is filtered in (smtpd-filters(7) FILTER REQUESTS). */
export const VERB_PHASES: ReadonlyMap<string, FilterPhase> = new Map([
  ["HELO", "helo"],
  ["EHLO", "ehlo"],
  ["STARTTLS", "starttls"],
  ["AUTH", "auth"],
  ["MAIL", "mail-from"],
  ["RCPT", "rcpt-to"],
  ["DATA", "data"],
  ["RSET", "rset"],
  ["QUIT", "quit"],
  ["NOOP", "noop"],
  ["HELP", "help"],
]);

/** What the session does after asking its filters. */
export type FilterStep =
  | { readonly go: true; readonly rewrite?: ChainRewrite }
  | { readonly go: false };

const STOP: FilterStep = { go: false };

/**
 * Asks the chain about a phase and acts on a refusal. `go: false` means the session has
 * replied (and may be closing); the command is not run. A filter that cannot answer
 * fails the session closed: 421 before the message's data, 451 at its end.
 */
export async function filterPhase(
  s: Session,
  phase: FilterPhase,
  params: readonly string[],
): Promise<FilterStep> {
  const filters = s.filters;
  if (!filters) return { go: true };
  let outcome: ChainOutcome;
  try {
    outcome = await filters.query(phase, params);
  } catch (error) {
    failClosed(s, phase, error);
    return STOP;
  }
  return applyOutcome(s, outcome);
}

/** The rcpt-to phase of the chain of the rule that accepted a recipient. */
export async function filterRuleRecipient(
  s: Session,
  ruleKey: string,
  address: string,
): Promise<FilterStep> {
  const filters = s.filters;
  if (!filters) return { go: true };
  try {
    return applyOutcome(s, await filters.queryRule(ruleKey, address));
  } catch (error) {
    failClosed(s, "rcpt-to", error);
    return STOP;
  }
}

/**
 * The data phase of a message sent with BDAT (RFC 3030), asked at its first chunk as DATA
 * is asked at the command, so CHUNKING is no way around a `data` filter. A reject is
 * handed back to be given once the chunk is read (the chunk follows its command whatever
 * the answer); a disconnect or a filter that cannot answer ends the session at once.
 */
export async function filterBdatData(
  s: Session,
): Promise<{ readonly go: true } | { readonly go: false; readonly refusal?: Reply }> {
  const filters = s.filters;
  if (!filters) return { go: true };
  let outcome: ChainOutcome;
  try {
    outcome = await filters.query("data", []);
  } catch (error) {
    failClosed(s, "data", error);
    return STOP;
  }
  if (outcome.kind === "proceed") return applyOutcome(s, outcome);
  const reply = parseReply(outcome.reply);
  if (outcome.kind === "reject" && reply.code !== 421) return { go: false, refusal: reply };
  return applyOutcome(s, outcome);
}

function applyOutcome(s: Session, outcome: ChainOutcome): FilterStep {
  if (outcome.kind === "proceed") {
    if (outcome.junk) markJunk(s);
    return outcome.rewrite === undefined ? { go: true } : { go: true, rewrite: outcome.rewrite };
  }
  const reply = parseReply(outcome.reply);
  s.reply(reply);
  // smtpd-filters(7): a 421 reject disconnects too.
  if (outcome.kind === "disconnect" || reply.code === 421) s.close();
  return STOP;
}

/**
 * The session or its transaction is junk: the message gets `X-Spam: yes`. At commit the
 * transaction is the one being committed: a junk verdict there marks that message only.
 */
export function markJunk(s: Session): void {
  const tx = s.transaction ?? s.committing;
  if (tx) tx.junk = true;
  else s.junk = true;
}

/** Logs why, answers 421 or 451, and ends the session: nothing passes unfiltered. */
export function failClosed(s: Session, phase: FilterPhase, error: unknown): void {
  s.context.log.warn(
    `smtp-in: session ${s.id} failed closed at ${phase}: ${errorMessage(error)}`,
  );
  const late = phase === "data-line" || phase === "commit";
  s.reply(late ? REPLIES.filterUnavailableData : REPLIES.filterUnavailable);
  s.close();
}

/** A report event, when a filter listens for it. */
export function report(s: Session, event: string, params: () => readonly string[]): void {
  const filters: SessionFilters | undefined = s.filters;
  if (filters?.wantsReport(event)) filters.report(event, params());
}

/** A transaction that ends unqueued: tx-rollback, then tx-reset, as smtp_session.c says. */
export function reportRollback(s: Session, msgid: string): void {
  report(s, "tx-rollback", () => [msgid]);
  report(s, "tx-reset", () => [msgid]);
}

/** The message through the data-line filters: content in, content out (CRLF lines). */
export async function filterContent(
  filters: SessionFilters,
  content: Uint8Array,
): Promise<Uint8Array> {
  // Octets as one char each, so 8-bit content passes through unchanged.
  const text = Buffer.from(content).toString("latin1").replace(/\r?\n$/, "");
  // A bare LF ends a line too, as OpenSMTPD reads data: a line handed to a filter never
  // holds one, or the filter would read a line break (even a lone ".") the client chose.
  const lines = await filters.dataLines(text.split(/\r?\n/));
  return new Uint8Array(Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "latin1"));
}

/** `X-Spam: yes` in front of the message. */
export function prependSpamHeader(content: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode("X-Spam: yes\r\n");
  const out = new Uint8Array(header.byteLength + content.byteLength);
  out.set(header);
  out.set(content, header.byteLength);
  return out;
}

export { filterView } from "./filter_view.ts";

/** link-tls: `version:cipher:bits`, as OpenSMTPD's tls_to_text() (no verify field). */
export function reportTls(s: Session): void {
  report(s, "link-tls", () => [(s.tlsDescription ?? "").split(":").slice(0, 3).join(":")]);
}

/** Reports link-connect and asks the connect phase; false when the session must end. */
export async function filterConnect(s: Session): Promise<boolean> {
  if (!s.filters) return true;
  // smtpd-filters(7): connect is asked after the connection, before the banner.
  await reportConnect(s);
  // SMTPS: the handshake was done before the session started.
  if (s.facts.tls) reportTls(s);
  return (await filterPhase(s, "connect", [s.facts.rdns ?? "", s.facts.src])).go;
}

/** The session ended: link-disconnect, and the filters' state is let go. */
export function closeFilters(s: Session): void {
  if (!s.filters) return;
  report(s, "link-disconnect", () => []);
  s.filters.close();
}

/**
 * Asks the filters about a command the check accepted; a rewrite changes its argument
 * once the command's check accepts the new one (else the check's refusal is the answer).
 */
export async function filterCommand(
  s: Session,
  command: Command<unknown>,
  checked: { readonly argument: unknown; readonly args: string },
): Promise<{ readonly go: true; readonly argument: unknown } | { readonly go: false }> {
  const { argument, args } = checked;
  const phase = s.filters && VERB_PHASES.get(command.verb);
  if (!phase) return { go: true, argument };
  const step = await filterPhase(s, phase, phaseParams(argument, args));
  if (!step.go) return step;
  if (step.rewrite === undefined) return { go: true, argument };
  const changed = await checkRewrite(s, command, { args, rewrite: step.rewrite, phase });
  if (changed === null) return { go: false };
  if (changed === undefined) {
    s.context.log.warn(
      `smtp-in: session ${s.id} ${phase}: a filter's rewrite has no argument to replace here; the command runs as sent`,
    );
  }
  return { go: true, argument: changed ? changed.argument : argument };
}

/** protocol-server: one event per line of a reply. */
export function reportReply(s: Session, text: string): void {
  if (!s.filters?.wantsReport("protocol-server")) return;
  for (const line of text.split("\r\n").slice(0, -1)) s.filters.report("protocol-server", [line]);
}

/** RSET or a new HELO drops a transaction: reported, and its rule filters dropped. */
export function endTransaction(s: Session, msgid: string): void {
  reportRollback(s, msgid);
  s.filters?.endTransaction();
}

// What a filter is told a command asks: MAIL's and RCPT's address, the HELO name, AUTH's words.
function phaseParams(argument: unknown, args: string): string[] {
  if (typeof argument === "string") return [argument];
  if (argument && typeof argument === "object" && "address" in argument) {
    return [String((argument as { address: string }).address)];
  }
  return args.trim() === "" ? [] : [args.trim()];
}
