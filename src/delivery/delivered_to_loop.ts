// Mail loop detection at local delivery, as OpenSMTPD's mda does it: a message whose
// header already carries a `Delivered-To:` naming the address it is being delivered to
// has been delivered there before (a .forward loop between two servers, say). Delivering
// it again would send it round once more, so the delivery fails for good and the sender
// gets one report instead.

const LF = 0x0a;
const CR = 0x0d;

/**
 * Why delivering `content` to `dest` would be a loop, or undefined when it would not:
 * a `Delivered-To:` field of its header equals `dest`, compared without regard to case.
 *
 * @example
 * ```ts
 * const message = new TextEncoder().encode("Delivered-To: bob@example.test\r\n\r\nhi\r\n");
 * deliveredToLoop(message, "Bob@Example.test"); // "5.4.6 Loop detected: …"
 * ```
 */
export function deliveredToLoop(content: Uint8Array, dest: string): string | undefined {
  const wanted = dest.toLowerCase();
  const header = new TextDecoder().decode(content.subarray(0, headerEnd(content)));
  for (const raw of header.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // The header ends at the first line that is neither a field nor a continuation.
    if (!line.includes(":") && !/^\s/.test(line)) break;
    const field = DELIVERED_TO_REGEXP.exec(line);
    if (field && field[1]!.trim().toLowerCase() === wanted) {
      return `5.4.6 Loop detected: the message was delivered to <${dest}> already`;
    }
  }
  return undefined;
}

const DELIVERED_TO_REGEXP = /^Delivered-To:(.*)$/i;

// The offset of the blank line that ends the header (the whole message when none does):
// only the header is decoded, however large the body.
function headerEnd(content: Uint8Array): number {
  let start = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] !== LF) continue;
    const lineLength = i - start;
    if (lineLength === 0 || (lineLength === 1 && content[start] === CR)) return start;
    start = i + 1;
  }
  return content.length;
}
