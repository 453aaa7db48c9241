// Mail loop detection at local delivery, as OpenSMTPD's mda does it: a message whose
// header already carries a `Delivered-To:` naming the address it is being delivered to
// has been delivered there before (a .forward loop between two servers, say). Delivering
// it again would send it round once more, so the delivery fails for good and the sender
// gets one report instead.

import { messageHeader } from "./message_header.ts";

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
  for (const raw of messageHeader(content).split("\n")) {
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
