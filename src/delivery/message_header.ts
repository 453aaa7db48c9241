// A message's header as text, for the delivery's looks at it (a `Delivered-To:` loop, an
// `X-Spam:` mark): found by bytes, so that only the header is decoded, however large the
// body.

import { indexOfByte } from "../mail/mod.ts";

const CR = 0x0d;
const LF = 0x0a;

/** The header of `content`, up to the blank line that ends it (all of it when none does). */
export function messageHeader(content: Uint8Array): string {
  return new TextDecoder().decode(content.subarray(0, headerEnd(content)));
}

// The offset of the blank line (LF or CRLF alone) that ends the header.
function headerEnd(content: Uint8Array): number {
  let start = 0;
  for (let lf = indexOfByte(content, LF); lf !== -1; lf = indexOfByte(content, LF, lf + 1)) {
    if (lf === start || (lf === start + 1 && content[start] === CR)) return start;
    start = lf + 1;
  }
  return content.length;
}
