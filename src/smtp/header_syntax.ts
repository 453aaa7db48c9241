// Whether a message's header can be parsed, as OpenSMTPD's rfc5322.c parses it: fields
// and their continuation lines, then an empty line or the end. header_rewrite.ts walks
// only headers that pass; refusing the others is message_data.ts's.

import { indexOfByte } from "../mail/mod.ts";

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/**
 * Whether every line before the first empty one (or the end) is a field (no blank first,
 * a colon in it) or a blank-led continuation of one. A line that is neither would end the
 * header where the rest of it, a Bcc: say, still looks like fields: OpenSMTPD refuses
 * such a message, so does this server. A message that starts with its empty line has no
 * header, and passes.
 *
 * @example
 * ```ts
 * import { isParsableHeader } from "./header_syntax.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * isParsableHeader(bytes("Subject: s\r\n folded\r\n\r\nbody\r\n")); // true
 * isParsableHeader(bytes("Subject: s\r\nno colon\r\nBcc: x\r\n\r\n")); // false
 * ```
 */
export function isParsableHeader(content: Uint8Array): boolean {
  let inField = false;
  let pos = 0;
  while (pos < content.length) {
    const lf = indexOfByte(content, LF, pos);
    const next = lf === -1 ? content.length : lf + 1;
    // The line's text: its LF and a CR before it are not part of it.
    let end = lf === -1 ? content.length : lf;
    if (end > pos && content[end - 1] === CR) end--;
    if (end === pos) return true;
    const first = content[pos];
    if (first === SP || first === HT) {
      if (!inField) return false;
    } else if (indexOfByte(content.subarray(pos, end), COLON) === -1) return false;
    else inField = true;
    pos = next;
  }
  return true;
}
