// The message as DATA sends it (RFC 5321 §4.5.2): every line that starts with "." gets a
// second one, the last line is ended, and a line holding only "." closes the data.

const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The bytes to write after a 354: `content` (CRLF line ends) dot-stuffed, ended with CRLF
 * when its last line is not, then ".\r\n". An empty message is just ".\r\n": the CRLF that
 * ends the DATA command already precedes it, so no empty line is added.
 *
 * @example
 * ```ts
 * import { dotStuff } from "./dot_stuff.ts";
 * new TextDecoder().decode(dotStuff(new TextEncoder().encode(".x\r\ny"))); // "..x\r\ny\r\n.\r\n"
 * ```
 */
export function dotStuff(content: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === DOT && (i === 0 || content[i - 1] === LF)) dots++;
  }
  const ended = content.length === 0 ||
    (content[content.length - 2] === CR && content[content.length - 1] === LF);
  const out = new Uint8Array(content.length + dots + (ended ? 0 : 2) + 3);
  let at = 0;
  if (dots === 0) {
    out.set(content, 0);
    at = content.length;
  } else {
    for (let i = 0; i < content.length; i++) {
      const byte = content[i]!;
      if (byte === DOT && (i === 0 || content[i - 1] === LF)) out[at++] = DOT;
      out[at++] = byte;
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
