// Server replies (RFC 5321 §4.2): `NNN-text` lines continue, `NNN text` (or bare `NNN`)
// ends the reply; every line of one reply carries the same code; a line is at most 512
// octets with its CRLF (§4.5.3.1.5). A whole reply is bounded in lines, octets and time.

import { type Channel, ChannelError } from "./channel.ts";

/** One whole reply. */
export interface Reply {
  readonly code: number;
  /** The text of each line, without code and separator. */
  readonly lines: readonly string[];
}

/** RFC 5321 §4.5.3.1.5: a reply line, CRLF included. */
export const REPLY_LINE_LIMIT = 512;

/**
 * The most lines and octets (CRLFs included) one reply may have. RFC 5321 sets no bound;
 * real replies are an EHLO list of a dozen or two short lines, or a policy text of a few
 * lines, well under 4 KiB. These are far above that, and still keep a server that never
 * ends its reply (an MX anyone may run) from filling this process's memory.
 */
export const REPLY_LINES_LIMIT = 512;
export const REPLY_OCTETS_LIMIT = 65_536;

const LINE_REGEXP = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/;
const encoder = new TextEncoder();

/**
 * Reads one reply, however many lines and packets it spans, all of it within `timeoutMs`
 * (RFC 5321 §4.5.3.2: a timeout bounds the wait for a reply, not for each of its lines).
 * A reply past its limits ends the connection: what follows could not be read as a dialogue.
 */
export async function readReply(channel: Channel, timeoutMs: number): Promise<Reply> {
  const deadline = { at: Date.now() + timeoutMs, timeoutMs };
  const lines: string[] = [];
  let code: string | undefined;
  let octets = 0;
  for (;;) {
    const line = await channel.readLine(REPLY_LINE_LIMIT, deadline);
    const m = LINE_REGEXP.exec(line);
    if (!m || (code !== undefined && m[1] !== code)) {
      throw new ChannelError(`malformed reply line "${printable(line)}"`);
    }
    code = m[1]!;
    lines.push(m[3] ?? "");
    if (m[2] !== "-") return { code: Number(code), lines };
    octets += encoder.encode(line).byteLength + 2;
    if (lines.length >= REPLY_LINES_LIMIT || octets >= REPLY_OCTETS_LIMIT) {
      channel.close();
      throw new ChannelError(
        `reply ${code} longer than ${REPLY_LINES_LIMIT} lines or ${REPLY_OCTETS_LIMIT} octets`,
      );
    }
  }
}

/** The reply as one line for logs and reports: `550 5.1.1 no such user`. */
export function replyText(reply: Reply): string {
  const text = reply.lines.filter((l) => l !== "").join(" ");
  return text === "" ? String(reply.code) : `${reply.code} ${text}`;
}

/** True for 2xx. */
export function isPositive(reply: Reply): boolean {
  return reply.code >= 200 && reply.code < 300;
}

function printable(line: string): string {
  const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
  // Control characters from a hostile server stay out of the log.
  return [...shown].map((c) => (c < " " || c === "\x7f" ? "?" : c)).join("");
}
