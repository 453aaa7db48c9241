// One mail transaction on an open connection: MAIL, a RCPT per recipient, DATA. Each
// recipient's result comes from the reply that decided it (RFC 5321 §4.2.1: 2yz done,
// 4yz later, 5yz never), and for LMTP from its own reply after the dot (RFC 2033 §4.2).

import { encodeXtext, failureFromReply, permfail } from "../mail/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { asciiAddress } from "./ascii_address.ts";
import type { Capabilities } from "./capabilities.ts";
import type { ClientConnection } from "./connection.ts";
import { isPositive, type Reply, replyText } from "./reply.ts";

/** What one transaction carries. */
export interface Transaction {
  /** The envelope sender; "" is the null sender, `MAIL FROM:<>`. */
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The message with CRLF line ends, not dot-stuffed. */
  readonly content: Uint8Array;
  /** ESMTP parameters for MAIL (SIZE=, BODY=…), when the server offers them. */
  readonly mailParameters?: readonly string[];
  /** What the sender asked of DSN (RFC 3461), passed on where the server offers DSN. */
  readonly dsn?: TransactionDsn;
}

/** RFC 3461's parameters, decoded (as the queue keeps them). */
export interface TransactionDsn {
  readonly ret?: "FULL" | "HDRS";
  readonly envid?: string;
  /** One per recipient, in order: NOTIFY values and ORCPT `addr-type;address`. */
  readonly recipients?: readonly (RecipientDsn | undefined)[];
}

/** One recipient's NOTIFY and ORCPT. */
export interface RecipientDsn {
  readonly notify?: readonly string[];
  readonly orcpt?: string;
}

/** Each recipient's result so far, and the reply that last ended the dialogue's progress. */
export interface TransactionState {
  /** One slot per recipient, filled as replies decide them. */
  readonly results: (DeliveryResult | undefined)[];
  /** When given, the text of the reply that decided each recipient, for the log. */
  readonly replies?: (string | undefined)[];
  /**
   * When given, true for each recipient refused here, before the server was asked, for
   * what the server does not offer (SMTPUTF8, room for a message this large): another
   * server may take it.
   */
  readonly unsupported?: boolean[];
  /** True once the server has answered the final dot (the connection can take more). */
  completed: boolean;
}

const OK: DeliveryResult = { kind: "ok" };
const NO_SMTPUTF8 = "5.6.7 the address needs SMTPUTF8, which the server does not offer";

/**
 * Runs the transaction, filling `state.results`. A ChannelError (connection lost, timeout,
 * garbled reply) propagates, leaving the undecided recipients empty for the caller to fill.
 */
export async function runTransaction(
  conn: ClientConnection,
  tx: Transaction,
  state: TransactionState,
): Promise<void> {
  const { results } = state;
  if (!isSafeAddress(tx.sender)) {
    results.fill(permfail(`invalid sender address "${tx.sender}"`));
    return;
  }
  const parameters = mailParameters(conn.capabilities, tx);
  const sender = conn.capabilities.smtpUtf8 ? tx.sender : asciiAddress(tx.sender);
  if (typeof parameters === "string" || sender === undefined) {
    const refusal = typeof parameters === "string" ? parameters : NO_SMTPUTF8;
    results.fill(permfail(refusal));
    state.replies?.fill(refusal);
    state.unsupported?.fill(true);
    return;
  }
  // Without SMTPUTF8 only the envelope changes (RFC 6531 §3.2): the message, its header
  // and DKIM signature, goes as it is.
  const recipients = tx.recipients.map((r) => conn.capabilities.smtpUtf8 ? r : asciiAddress(r));
  const safe = tx.recipients.flatMap((recipient, index) => {
    if (!isSafeAddress(recipient)) {
      results[index] = permfail(`invalid recipient address "${recipient}"`);
    } else if (recipients[index] === undefined) {
      results[index] = permfail(NO_SMTPUTF8);
      if (state.replies) state.replies[index] = NO_SMTPUTF8;
      if (state.unsupported) state.unsupported[index] = true;
    } else return [index];
    return [];
  });
  const dsn = conn.capabilities.dsn ? tx.dsn : undefined;
  // With PIPELINING, DATA goes in the same write as MAIL and the RCPTs: one round trip less.
  const { mail, rcpts, dataStart } = await conn.envelope(
    sender,
    parameters,
    safe.map((i) => recipients[i]!),
    safe.map((i) => rcptDsnParameters(dsn?.recipients?.[i])),
    { data: safe.length > 0 },
  );
  if (!isPositive(mail)) {
    for (const index of safe) {
      results[index] = failureFromReply(mail.code, replyText(mail));
      if (state.replies) state.replies[index] = replyText(mail);
    }
    return;
  }
  const accepted: number[] = [];
  for (const [n, index] of safe.entries()) {
    const reply = rcpts[n]!;
    if (isPositive(reply)) accepted.push(index);
    else results[index] = failureFromReply(reply.code, replyText(reply));
    if (state.replies) state.replies[index] = replyText(reply);
  }
  if (accepted.length === 0) return;
  const { start, ends } = await conn.data(tx.content, dataStart);
  if (ends.length === 0) {
    const failed = failureFromReply(start.code, replyText(start));
    for (const index of accepted) results[index] = failed;
    if (state.replies) { for (const index of accepted) state.replies[index] = replyText(start); }
    return;
  }
  // SMTP: one reply for every accepted recipient; LMTP: one each, in RCPT order.
  for (const [n, index] of accepted.entries()) {
    const end = ends[n] ?? ends[0]!;
    results[index] = resultOf(end);
    if (state.replies) state.replies[index] = replyText(end);
  }
  state.completed = true;
}

function resultOf(reply: Reply): DeliveryResult {
  return isPositive(reply) ? OK : failureFromReply(reply.code, replyText(reply));
}

// CR, LF or angle brackets in an address would inject or garble commands.
function isSafeAddress(address: string): boolean {
  return !/[\r\n<>]/.test(address);
}

/**
 * The MAIL parameters the server's extensions call for, or why the message cannot go to
 * it at all: larger than its SIZE limit (RFC 1870 §6: refused before MAIL, 5.3.4).
 */
function mailParameters(caps: Capabilities, tx: Transaction): string[] | string {
  const parameters = [...(tx.mailParameters ?? [])];
  const size = tx.content.length;
  if (caps.maxSize !== undefined && size > caps.maxSize) {
    return `5.3.4 the message (${size} octets) is larger than the server accepts (${caps.maxSize})`;
  }
  if (caps.extensions.has("SIZE")) parameters.push(`SIZE=${size}`);
  // Without the extension, addresses go in ASCII where they can (runTransaction()).
  const international = [tx.sender, ...tx.recipients].some((a) => /[^\p{ASCII}]/u.test(a));
  if (international && caps.smtpUtf8) parameters.push("SMTPUTF8");
  // RFC 3461 §4.3, §4.4: only to a server that offers DSN.
  if (caps.dsn && tx.dsn?.ret) parameters.push(`RET=${tx.dsn.ret}`);
  if (caps.dsn && tx.dsn?.envid !== undefined) {
    parameters.push(`ENVID=${encodeXtext(tx.dsn.envid)}`);
  }
  // RFC 6152: 8-bit content is declared where the server takes it.
  if (caps.eightBitMime && tx.content.some((byte) => byte > 0x7f)) parameters.push("BODY=8BITMIME");
  return parameters;
}

// RFC 3461 §4.1, §4.2: NOTIFY=… and ORCPT=addr-type;xtext (RFC 6533: a utf-8 address
// in its own 7-bit form, which any server may be sent).
function rcptDsnParameters(dsn: RecipientDsn | undefined): string[] | undefined {
  if (!dsn) return undefined;
  const parameters: string[] = [];
  if (dsn.notify?.length) parameters.push(`NOTIFY=${dsn.notify.join(",")}`);
  const semicolon = dsn.orcpt?.indexOf(";") ?? -1;
  if (dsn.orcpt && semicolon > 0) {
    const type = dsn.orcpt.slice(0, semicolon);
    const address = dsn.orcpt.slice(semicolon + 1);
    const encoded = type.toLowerCase() === "utf-8" ? utf8AddrXtext(address) : encodeXtext(address);
    parameters.push(`ORCPT=${type};${encoded}`);
  }
  return parameters;
}

/**
 * RFC 6533 §3: utf-8-addr-xtext, "\x{HEX}" (the code point) for "+", "=", "\" and
 * anything outside printable ASCII.
 */
export function utf8AddrXtext(value: string): string {
  let out = "";
  for (const c of value) {
    const point = c.codePointAt(0)!;
    out += point > 0x20 && point < 0x7f && c !== "+" && c !== "=" && c !== "\\"
      ? c
      : `\\x{${point.toString(16).toUpperCase().padStart(2, "0")}}`;
  }
  return out;
}
