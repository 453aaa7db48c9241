// The message as DATA sends it (RFC 5321 §4.5.2): every line end is CRLF, every line that
// starts with "." gets a second one, the last line is ended, and a line holding only "."
// closes the data.

import { indexOfByte } from "../mail/mod.ts";

const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The bytes to write after a 354: `content` dot-stuffed, each bare LF sent as CRLF (RFC 5321
 * §2.3.8: LF goes out only as part of CRLF; a CR inside a line is kept, as OpenSMTPD and
 * Postfix keep it), ended with CRLF when its last line is not, then ".\r\n". An empty message
 * is just ".\r\n": the CRLF that ends the DATA command already precedes it, so no empty line
 * is added.
 *
 * @example
 * ```ts
 * import { dotStuff } from "./dot_stuff.ts";
 * new TextDecoder().decode(dotStuff(new TextEncoder().encode(".x\ny"))); // "..x\r\ny\r\n.\r\n"
 * ```
 */
export function dotStuff(content: Uint8Array): Uint8Array {
  // Line ends are found by a native search, so the usual message (CRLF only, no leading
  // dot) costs one search per line and is then copied whole.
  let added = content[0] === DOT ? 1 : 0;
  for (let lf = indexOfByte(content, LF); lf >= 0; lf = indexOfByte(content, LF, lf + 1)) {
    if (content[lf - 1] !== CR) added++;
    if (content[lf + 1] === DOT) added++;
  }
  const ended = content.length === 0 || content[content.length - 1] === LF;
  const out = new Uint8Array(content.length + added + (ended ? 0 : 2) + 3);
  let at = 0;
  if (added === 0) {
    out.set(content, 0);
    at = content.length;
  } else {
    for (let start = 0; start < content.length;) {
      if (content[start] === DOT) out[at++] = DOT;
      const lf = indexOfByte(content, LF, start);
      const end = lf < 0 ? content.length : lf;
      out.set(content.subarray(start, end), at);
      at += end - start;
      if (lf < 0) break;
      if (content[lf - 1] !== CR) out[at++] = CR;
      out[at++] = LF;
      start = lf + 1;
    }
  }
  if (!ended) {
    out[at++] = CR;
    out[at++] = LF;
  }
  out[at++] = DOT;
  out[at++] = CR;
  out[at] = LF;
  return out;
}
