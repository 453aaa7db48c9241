// What sendmail makes of a message read from standard input, before it is queued: the
// recipients (from the arguments, or from To/Cc/Bcc with -t), Bcc removed, and the
// headers a local program often leaves out — Date, Message-ID, From — added, as
// OpenSMTPD's enqueuer adds them. Pure: bytes in, bytes out, and every byte given that
// is not a line end or a Bcc: header is queued as it was (8-bit ones included).

import { isValidMailbox, MAX_PATH_LENGTH } from "../smtp/mod.ts";
import { addressOf, rfc5322Date, splitAddressList } from "../mail/mod.ts";

/** What the command line and the environment say. */
export interface EnqueueRequest {
  /** The message as read from standard input. */
  readonly input: Uint8Array;
  /** Recipients from the command line. */
  readonly recipients: readonly string[];
  /** -f / -r; "" or "<>" for the null sender; undefined for the caller's own address. */
  readonly sender?: string;
  /** -F: the full name in an added From: header. */
  readonly fullName?: string;
  /** -t: recipients also from To:, Cc: and Bcc:. */
  readonly extractRecipients: boolean;
  /** -i / -oi: a line with a single dot does not end the message. */
  readonly ignoreDots: boolean;
  /** The host name that qualifies bare user names. */
  readonly hostname: string;
  /** The login name of the caller. */
  readonly user: string;
  /** The queue id, for Message-ID: and Received:. */
  readonly msgid: string;
  readonly now: Date;
}

/** A message ready to be queued. */
export interface PreparedMessage {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Headers and body with CRLF line ends, our Received: first. */
  readonly content: Uint8Array;
  /** The octets of our Received: field at the start of `content`. */
  readonly receivedLength: number;
}

/** Why a message cannot be queued as given; sendmail exits 64 (EX_USAGE) with the text. */
export class EnqueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnqueueError";
  }
}

const HEADER_REGEXP = /^([!-9;-~]+):/;

/**
 * Builds the message to queue; throws an {@link EnqueueError} when there is no recipient,
 * when a recipient or the sender is no address MAIL FROM or RCPT TO would take, or when a
 * recipient, sender or name holds a control character (a NUL would be stored cut short, a
 * line end would forge a header).
 */
export function prepareMessage(request: EnqueueRequest): PreparedMessage {
  // The input is handled as a binary string (one code unit per byte), so header
  // parsing is string code and nothing is decoded or re-encoded on the way through.
  const lines = inputLines(request.input, request.ignoreDots);
  // A message saved from an mbox starts with its "From " separator line: no header, and
  // dropped where headers follow it, as OpenSMTPD's enqueuer drops it.
  if (lines[0]?.startsWith("From ") && isHeaderLine(lines[1])) lines.shift();
  // The headers end at the first line that is neither a header nor a continuation of
  // one. The empty line that ends them is written below, so a body that follows them
  // without one still reads as body; input that does not start with a header is all body.
  const headerEnd = endOfHeaders(lines);
  const headers = groupHeaders(lines.slice(0, headerEnd));
  const body = headerEnd === 0
    ? lines
    : lines.slice(lines[headerEnd] === "" ? headerEnd + 1 : headerEnd);

  const sender = normaliseSender(request);
  checkText("sender", sender);
  if (sender !== "") {
    checkAddress(`sender ${JSON.stringify(request.sender ?? request.user)}`, sender);
  }
  if (request.fullName !== undefined) checkText("full name", request.fullName);
  const recipients = [...request.recipients.flatMap(splitAddressList)];
  if (request.extractRecipients) {
    for (const h of headers) {
      if (!["to", "cc", "bcc"].includes(h.name)) continue;
      const value = utf8FromBinary(h.value);
      if (value === undefined) {
        throw new EnqueueError(`the ${h.name}: header is not valid UTF-8`);
      }
      recipients.push(...splitAddressList(value));
    }
  }
  for (const r of recipients) {
    checkText("recipient", r);
    checkAddress(`recipient ${JSON.stringify(r)}`, qualify(r, request.hostname));
  }
  const qualified = unique(recipients.map((r) => qualify(r, request.hostname)));
  if (qualified.length === 0) throw new EnqueueError("no recipients given");

  // Bcc: is for the envelope only. A Return-Path: is the delivering server's to write (RFC
  // 5321 §4.4): one given here would stand beside it, a forged bounce address, so it is
  // dropped as OpenSMTPD's enqueuer drops it (here with its continuation lines too).
  const kept = headers.filter((h) => h.name !== "bcc" && h.name !== "return-path");
  const has = (name: string) => kept.some((h) => h.name === name);
  const added: string[] = [];
  if (!has("date")) added.push(`Date: ${rfc5322Date(request.now.getTime())}`);
  if (!has("message-id")) added.push(`Message-ID: <${request.msgid}@${request.hostname}>`);
  if (!has("from")) {
    const from = sender === "" ? `MAILER-DAEMON@${request.hostname}` : sender;
    added.push(
      request.fullName ? `From: ${quoteName(request.fullName)} <${from}>` : `From: ${from}`,
    );
  }
  const received = [
    `Received: by ${request.hostname} (OpenSMTPD) with LOCAL id ${request.msgid}`,
    qualified.length === 1 ? `\tfor <${qualified[0]}>;` : `\t(${qualified.length} recipients);`,
    `\t${rfc5322Date(request.now.getTime())}`,
  ];
  // What is added is text (UTF-8); what was given stays the bytes it was.
  const ours = (lines: string[]) => lines.map(binaryFromUtf8);
  // Ours before the given ones, as OpenSMTPD's enqueuer writes them.
  const out = [...ours(received), ...ours(added), ...kept.map((h) => h.raw), "", ...body];
  // Every line ends with CRLF: a final empty line stays, a last line without an end gets one.
  return {
    sender,
    recipients: qualified,
    content: bytesFromBinary(out.map((line) => line + "\r\n").join("")),
    receivedLength: received.map((line) => binaryFromUtf8(line) + "\r\n").join("").length,
  };
}

// Refuses control characters (C0, DEL, C1) where a header or an envelope is built from
// the text: RFC 5321 §4.1.2 allows none in an address, RFC 5322 §2.2 none in a header.
const CONTROL_REGEXP = /\p{Cc}/u;
function checkText(what: string, text: string): void {
  if (CONTROL_REGEXP.test(text)) {
    // Quoted with every control character escaped (JSON leaves DEL and C1 bare).
    const shown = JSON.stringify(text).replace(
      /\p{Cc}/gu,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    throw new EnqueueError(`${what} ${shown} holds a control character`);
  }
}

// Refuses what the SMTP server refuses in MAIL FROM or RCPT TO (553): queued, a malformed
// address would only fail at the relay, and the bounce find no way back. `what` names
// the address as it was given.
function checkAddress(what: string, address: string): void {
  if (address.length + 2 > MAX_PATH_LENGTH || !isValidMailbox(address)) {
    throw new EnqueueError(`${what} is not a valid address`);
  }
}

/** Bytes as a string of code units 0–255: a lossless view string code can split and test. */
export function binaryFromBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** The bytes of a binary string (see {@link binaryFromBytes}). */
export function bytesFromBinary(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function binaryFromUtf8(text: string): string {
  return binaryFromBytes(new TextEncoder().encode(text));
}

function utf8FromBinary(text: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytesFromBinary(text));
  } catch {
    return undefined;
  }
}

interface Header {
  readonly name: string;
  readonly value: string;
  /** The header as it was, folded lines joined with CRLF. */
  readonly raw: string;
}

// Lines without their ends; a bare "." ends the input unless -i (classic sendmail).
function inputLines(input: Uint8Array, ignoreDots: boolean): string[] {
  const text = binaryFromBytes(input);
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  if (lines.at(-1) === "") lines.pop();
  if (!ignoreDots) {
    const dot = lines.indexOf(".");
    if (dot !== -1) lines.length = dot;
  }
  return lines;
}

function isHeaderLine(line: string | undefined): boolean {
  return line !== undefined && HEADER_REGEXP.test(line);
}

function isContinuation(line: string | undefined): boolean {
  return line !== undefined && (line.startsWith(" ") || line.startsWith("\t"));
}

// How many lines at the start are headers with their continuation lines.
function endOfHeaders(lines: readonly string[]): number {
  let end = 0;
  while (isHeaderLine(lines[end])) {
    end++;
    while (isContinuation(lines[end])) end++;
  }
  return end;
}

// Header lines (as endOfHeaders() counts them), each with its continuation lines.
function groupHeaders(lines: readonly string[]): Header[] {
  const headers: { name: string; lines: string[] }[] = [];
  for (const line of lines) {
    const m = HEADER_REGEXP.exec(line);
    if (m) headers.push({ name: m[1]!.toLowerCase(), lines: [line] });
    else headers.at(-1)!.lines.push(line);
  }
  return headers.map((h) => {
    const raw = h.lines.join("\r\n");
    const joined = h.lines.join(" ");
    // Only ASCII blanks are trimmed: in a binary string, trim() would also eat 0xA0 bytes
    // (the end of a UTF-8 "à", say).
    const value = joined.slice(joined.indexOf(":") + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    return { name: h.name, value, raw };
  });
}

// -f as sendmail implementations take it: `addr`, `<addr>`, `Name <addr>`; "" or "<>"
// is the null sender.
function normaliseSender(request: EnqueueRequest): string {
  if (request.sender === undefined) return qualify(request.user, request.hostname);
  const bare = addressOf(request.sender);
  return bare === "" ? "" : qualify(bare, request.hostname);
}

function qualify(address: string, hostname: string): string {
  return address.includes("@") ? address : `${address}@${hostname}`;
}

function unique(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = v.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function quoteName(name: string): string {
  return /^[\w .-]*$/.test(name) ? name : `"${name.replace(/["\\]/g, "\\$&")}"`;
}
