// What the server changes in the header of a message it received over SMTP, as
// OpenSMTPD's smtp_tx_dataline() does: Bcc: dropped, bare names in From/To/Cc completed
// with the listener's name (and folded where that makes a line too long), and on a
// submission listener a missing Date: or Message-ID: added. The header is walked once, by
// bytes; the body is never read.

import { indexOfByte, rfc5322Date } from "../mail/mod.ts";
import { foldCompletedLines } from "./fold_completed_lines.ts";
import { qualifyAddresses } from "./qualify_addresses.ts";

/** Options of {@link rewriteHeader}. */
export interface HeaderRewrite {
  /** The listener's name: the domain of completed addresses and of an added Message-ID. */
  readonly hostname: string;
  /** Add Date: and Message-ID: when the message has none (a submission listener). */
  readonly addMissing?: { readonly msgid: string; readonly date: Date };
}

/**
 * Whether a listener adds a missing Date: and Message-ID: as OpenSMTPD decides it
 * (`listener->local || port == 587`): local is the enqueuer's socket, or an address
 * that is exactly 127.0.0.1 or ::1 (parse.y), not any other one on the loopback.
 */
export function fillsMissingHeaders(
  listener: { readonly address: string; readonly port: number; readonly socketPath?: string },
): boolean {
  return listener.socketPath !== undefined || listener.port === 587 ||
    isLoopbackListenAddress(listener.address);
}

function isLoopbackListenAddress(address: string): boolean {
  if (address === "127.0.0.1") return true;
  if (!address.includes(":")) return false;
  // IPv6 written any way (`::1`, `0:0:0:0:0:0:0:1`): the URL parser's canonical form.
  try {
    return new URL(`http://[${address}]/`).hostname === "[::1]";
  } catch {
    return false;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

// A change to the content: the octets [start, end) become `text` (a binary string).
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * The content with its header rewritten; the same array, not a copy, when nothing in it
 * needs a change.
 */
export function rewriteHeader(content: Uint8Array, options: HeaderRewrite): Uint8Array {
  const edits: Edit[] = [];
  let hasDate = false;
  let hasMessageId = false;
  let pos = 0;
  // A field is a line that does not start with space and has a colon, with the lines
  // that start with space after it; the first other line ends the header (RFC 5322 §2.2).
  while (pos < content.length) {
    const first = content[pos];
    if (first === LF || first === CR || first === SP || first === HT) break;
    const lineEnd = lineEndAfter(content, pos);
    const colon = indexOfByte(content.subarray(pos, lineEnd), COLON);
    if (colon === -1) break;
    let end = lineEnd;
    while (end < content.length && (content[end] === SP || content[end] === HT)) {
      end = lineEndAfter(content, end);
    }
    const name = fieldName(content, pos, pos + colon);
    if (name === "bcc") {
      // RFC 5322 §3.6.3: the other recipients must not see who else got it.
      edits.push({ start: pos, end, text: "" });
    } else if (name === "to" || name === "cc" || name === "from") {
      const valueStart = pos + colon + 1;
      const value = binaryString(content.subarray(valueStart, end));
      const qualified = qualifyAddresses(value, options.hostname);
      if (qualified !== value) {
        const text = foldCompletedLines(value, { completed: qualified, nameLength: colon + 1 });
        edits.push({ start: valueStart, end, text });
      }
    } else if (name === "date") hasDate = true;
    else if (name === "message-id") hasMessageId = true;
    pos = end;
  }
  if (options.addMissing) {
    const { msgid, date } = options.addMissing;
    let fields = "";
    if (!hasDate) fields += `Date: ${rfc5322Date(date.getTime())}\r\n`;
    // The form sendmail's enqueuer gives a message (src/control/enqueue.ts).
    if (!hasMessageId) fields += `Message-ID: <${msgid}@${options.hostname}>\r\n`;
    // After the last field, where OpenSMTPD adds them (its end of headers).
    const unended = pos > 0 && content[pos - 1] !== LF;
    if (fields !== "") edits.push({ start: pos, end: pos, text: (unended ? "\r\n" : "") + fields });
  }
  return edits.length === 0 ? content : applyEdits(content, edits);
}

// Where the line starting at `pos` ends, its LF included (the content's end for the last).
function lineEndAfter(content: Uint8Array, pos: number): number {
  const lf = indexOfByte(content, LF, pos);
  return lf === -1 ? content.length : lf + 1;
}

// The field's name, lower-cased, when it is one we look at (names are compared
// whole, as OpenSMTPD compares them; space before the colon is obsolete syntax, RFC
// 5322 §4.5, and still names the field).
function fieldName(content: Uint8Array, start: number, colon: number): string | undefined {
  let end = colon;
  while (end > start && (content[end - 1] === SP || content[end - 1] === HT)) end--;
  const length = end - start;
  if (length < 2 || length > 10) return undefined;
  let name = "";
  for (let i = start; i < end; i++) name += String.fromCharCode(content[i]!).toLowerCase();
  return LOOKED_AT.has(name) ? name : undefined;
}

const LOOKED_AT = new Set(["bcc", "to", "cc", "from", "date", "message-id"]);

function binaryString(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

// The content with the edits made, in one new array; edits are in content order.
function applyEdits(content: Uint8Array, edits: readonly Edit[]): Uint8Array {
  const size = edits.reduce((n, e) => n + e.text.length - (e.end - e.start), content.length);
  const out = new Uint8Array(size);
  let from = 0;
  let at = 0;
  for (const edit of edits) {
    out.set(content.subarray(from, edit.start), at);
    at += edit.start - from;
    for (let i = 0; i < edit.text.length; i++) out[at++] = edit.text.charCodeAt(i) & 0xff;
    from = edit.end;
  }
  out.set(content.subarray(from), at);
  return out;
}
