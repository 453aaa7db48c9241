// Delivery status notifications (RFC 3464): a multipart/report with a human-readable
// part, a message/delivery-status part with one block per recipient, and the original
// message or only its headers (RFC 3461 RET). Pure: bytes in, bytes out.

import { concatBytes, rfc5322Date } from "../mail/mod.ts";

/** What a report says happened. */
export type ReportKind = "failed" | "delayed" | "delivered" | "relayed";

/** One recipient a report is about. */
export interface ReportRecipient {
  readonly rcpt: string;
  /** DSN ORCPT as given at RCPT: `addr-type;address` (xtext). */
  readonly orcpt?: string;
  /** Why, as the delivery agent put it (may start with an SMTP reply code). */
  readonly reason: string;
  /** Unix milliseconds of the last attempt. */
  readonly lastAttempt?: number;
}

/** Everything a report is made from. */
export interface ReportInput {
  readonly kind: ReportKind;
  /** The name of this host, for From: and Reporting-MTA. */
  readonly hostname: string;
  /** The original sender, who receives the report. */
  readonly to: string;
  readonly recipients: readonly ReportRecipient[];
  /** The original message, CRLF line ends. */
  readonly original: Uint8Array;
  /** Unix milliseconds the original arrived. */
  readonly arrival: number;
  /** Unix milliseconds now. */
  readonly now: number;
  readonly ret?: "FULL" | "HDRS";
  readonly envid?: string;
  /** For delay warnings: until when delivery is retried (Unix milliseconds). */
  readonly retryUntil?: number;
}

// An enhanced code is read only where one is meant: opening the reason (this host's own,
// `4.4.7 Envelope expired …`), else after the code of the first SMTP reply in it (`550
// 5.1.1 …`, also after a `greeting: ` prefix); never from an address or a version number.
const OWN_STATUS_REGEXP = /^([245])\.(\d{1,3}\.\d{1,3})(?![.\w])/;
const REPLY_STATUS_REGEXP = /(?:^|: )[245]\d\d[ -]([245])\.(\d{1,3}\.\d{1,3})(?![.\w])/;
// RFC 3464 §2.3.4: the class of Status agrees with the Action.
const STATUS_CLASS: Record<ReportKind, string> = {
  failed: "5",
  delayed: "4",
  delivered: "2",
  relayed: "2",
};
// RFC 3463 §3.5 X.4.1 "No answer from host": the connection was not taken.
const CONNECT_FAILED_REGEXP = /(?:^|: )cannot connect to /;
const SUBJECT: Record<ReportKind, string> = {
  failed: "failed",
  delayed: "delayed",
  delivered: "delivered",
  relayed: "relayed",
};

/** Builds the report as a whole message (headers and body, CRLF line ends). */
export function buildReport(input: ReportInput): Uint8Array {
  const boundary = `${randomDigits(16)}/${input.hostname}`;
  const encoder = new TextEncoder();
  const { included, type, full } = originalPart(input);
  const head = [
    `Date: ${rfc5322Date(input.now)}`,
    `From: Mailer Daemon <MAILER-DAEMON@${input.hostname}>`,
    `To: ${input.to}`,
    `Subject: Delivery status notification: ${SUBJECT[input.kind]}`,
    `Message-ID: <${randomDigits(20)}.report@${input.hostname}>`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${boundary}"`,
    "",
    "This is a MIME-encapsulated message.",
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    ...humanText(input, full),
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "",
    ...statusFields(input),
    `--${boundary}`,
    `Content-Type: ${type}`,
    "",
    "",
  ].join("\r\n");
  const tail = `\r\n--${boundary}--\r\n`;
  return concatBytes([encoder.encode(head), included, encoder.encode(tail)]);
}

/**
 * The enhanced status code (RFC 3463) of a report's Status field: the one the reason
 * carries when its class fits the report, else a generic code of the report's class.
 * A failure keeps the subject and detail of a transient code (an expiry's 4.4.7 is
 * reported as 5.4.7): what was temporary has become final.
 *
 * @example
 * ```ts
 * import { statusOf } from "./report.ts";
 * statusOf("failed", "550 5.1.1 no such user"); // "5.1.1"
 * statusOf("delayed", "mx.test: cannot connect to 127.5.0.1:2: refused"); // "4.4.1"
 * ```
 */
export function statusOf(kind: ReportKind, reason: string): string {
  const wanted = STATUS_CLASS[kind];
  const found = OWN_STATUS_REGEXP.exec(reason) ?? REPLY_STATUS_REGEXP.exec(reason);
  if (found) {
    const [, klass, rest] = found;
    if (klass === wanted || (kind === "failed" && klass === "4")) return `${wanted}.${rest}`;
  }
  if (kind === "delayed" && CONNECT_FAILED_REGEXP.test(reason)) return "4.4.1";
  return `${wanted}.0.0`;
}

// RFC 3461 §4.3: RET=FULL asks for the whole message in a "failed" report, RET=HDRS for
// the headers; without RET, failures return the whole message. Warnings and success
// reports return the headers only, whatever RET says: the sender still has the message
// on its way.
function originalPart(
  input: ReportInput,
): { included: Uint8Array; type: string; full: boolean } {
  const full = input.kind === "failed" && input.ret !== "HDRS";
  if (full) return { included: withFinalCrlf(input.original), type: "message/rfc822", full };
  return { included: headersOf(input.original), type: "text/rfc822-headers", full };
}

function humanText(input: ReportInput, full: boolean): string[] {
  const lines = [
    "Hi!",
    "",
    "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.",
    "",
  ];
  switch (input.kind) {
    case "failed":
      lines.push(
        "An error has occurred while attempting to deliver a message for",
        "the following list of recipients:",
      );
      break;
    case "delayed": {
      lines.push(
        "Delivery of a message has been delayed for the following list of recipients.",
        input.retryUntil === undefined
          ? "It is kept in the queue and will be tried again."
          : `It is kept in the queue for up to ${
            durationWords(input.retryUntil - input.arrival)
          } and tried again.`,
        "Nothing needs to be done yet:",
      );
      break;
    }
    case "delivered":
      lines.push("Your message was successfully delivered to these recipients:");
      break;
    case "relayed":
      // RFC 3464 §2.3.3 "relayed": handed to a server that does not do DSN, so no
      // further notification of success should be expected.
      lines.push(
        "Your message was relayed to these recipients. The server it was handed to does not",
        "send delivery notifications, so no further report of its delivery will come:",
      );
      break;
  }
  lines.push("");
  for (const r of input.recipients) lines.push(`${r.rcpt}: ${r.reason}`);
  lines.push("");
  lines.push(
    full
      ? "Below is a copy of the original message."
      : "Below are the headers of the original message.",
  );
  return lines;
}

function statusFields(input: ReportInput): string[] {
  const lines = [`Reporting-MTA: dns; ${input.hostname}`];
  if (input.envid !== undefined) lines.push(`Original-Envelope-Id: ${oneLine(input.envid)}`);
  lines.push(`Arrival-Date: ${rfc5322Date(input.arrival)}`, "");
  for (const r of input.recipients) {
    lines.push(`Final-Recipient: ${finalRecipient(r.rcpt)}`);
    if (r.orcpt !== undefined) lines.push(`Original-Recipient: ${formatOrcpt(r.orcpt)}`);
    lines.push(`Action: ${input.kind}`, `Status: ${statusOf(input.kind, r.reason)}`);
    if (/^[245]\d\d[ -]/.test(r.reason)) lines.push(`Diagnostic-Code: smtp; ${oneLine(r.reason)}`);
    if (r.lastAttempt) lines.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (input.kind === "delayed" && input.retryUntil !== undefined) {
      lines.push(`Will-Retry-Until: ${rfc5322Date(input.retryUntil)}`);
    }
    lines.push("");
  }
  return lines;
}

// The envelope keeps ORCPT as `type;address`, its xtext already decoded (src/smtp/dsn.ts):
// the report shows it as `type; address`. A message/delivery-status part is ASCII, so a
// utf-8 address is written in RFC 6533's utf-8-addr-xtext: `\x{HEX}` for every code point
// outside its QCHARs.
function formatOrcpt(orcpt: string): string {
  const semi = orcpt.indexOf(";");
  const type = semi === -1 ? "rfc822" : orcpt.slice(0, semi);
  const address = semi === -1 ? orcpt : orcpt.slice(semi + 1);
  const value = type.toLowerCase() === "utf-8" ? utf8AddrXtext(address) : address;
  return `${type}; ${oneLine(value)}`;
}

// An ASCII address as rfc822; a UTF-8 one as RFC 6533's utf-8 type in utf-8-addr-xtext,
// since a message/delivery-status part is ASCII.
function finalRecipient(rcpt: string): string {
  return /^[\x20-\x7e]*$/.test(rcpt) ? `rfc822; ${rcpt}` : `utf-8; ${utf8AddrXtext(rcpt)}`;
}

// How long, as OpenSMTPD's bounce_duration() says it: the largest whole unit.
function durationWords(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [count, unit] = seconds < 60
    ? [seconds, "second"]
    : seconds < 3600
    ? [Math.floor(seconds / 60), "minute"]
    : seconds < 86_400
    ? [Math.floor(seconds / 3600), "hour"]
    : [Math.floor(seconds / 86_400), "day"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

// QCHAR (RFC 6533 §3): printable ASCII but "+", "=" and "\".
function utf8AddrXtext(address: string): string {
  let out = "";
  for (const char of address) {
    const code = char.codePointAt(0)!;
    const qchar = code >= 0x21 && code <= 0x7e && char !== "+" && char !== "=" && char !== "\\";
    out += qchar ? char : `\\x{${code.toString(16).toUpperCase()}}`;
  }
  return out;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

function headersOf(message: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < message.byteLength; i++) {
    if (
      message[i] === 13 && message[i + 1] === 10 && message[i + 2] === 13 && message[i + 3] === 10
    ) {
      return message.subarray(0, i + 2);
    }
  }
  return withFinalCrlf(message);
}

function withFinalCrlf(data: Uint8Array): Uint8Array {
  const n = data.byteLength;
  if (n >= 2 && data[n - 2] === 13 && data[n - 1] === 10) return data;
  const out = new Uint8Array(n + 2);
  out.set(data);
  out.set([13, 10], n);
  return out;
}

function randomDigits(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => String(b % 10)).join("");
}
