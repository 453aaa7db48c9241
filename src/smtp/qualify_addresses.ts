// Completes the bare names of an address-list header value (`To: bob` → `bob@host`), as
// OpenSMTPD's header_domain_append_callback() does for From, To and Cc. Works on the value
// as a binary string (one character per octet), so 8-bit text passes through as it was.

import { AddressScanner } from "./_address_scanner.ts";

/**
 * The value with `@domain` after every address that has no domain; the same string when
 * none lacks one. Groups, empty and unbalanced entries are left alone.
 *
 * @example
 * ```ts
 * import { qualifyAddresses } from "./qualify_addresses.ts";
 * qualifyAddresses(" bob, Al <al>, c@d.test\r\n", "mx.test");
 * // " bob@mx.test, Al <al@mx.test>, c@d.test\r\n"
 * ```
 */
export function qualifyAddresses(value: string, domain: string): string {
  let out = "";
  let start = 0;
  const scan = new AddressScanner();
  for (let i = 0; i < value.length; i++) {
    if (scan.step(value[i]!) && value[i] === ",") {
      out += qualifyOne(value.slice(start, i), domain) + ",";
      start = i + 1;
    }
  }
  out += qualifyOne(value.slice(start), domain);
  return out;
}

// One entry of the list: `name <local>` gets the domain before `>`, a bare `local` (with
// comments around it, perhaps) after its last character outside a comment.
function qualifyOne(entry: string, domain: string): string {
  const scan = new AddressScanner();
  let open = -1;
  let close = -1;
  let last = -1;
  for (let i = 0; i < entry.length; i++) {
    const c = entry[i]!;
    const inComment = scan.comment > 0;
    const bare = scan.step(c);
    // The domain goes after the last character that is neither a comment's nor space.
    if (!inComment && scan.comment === 0 && !(bare && WHITESPACE.has(c))) last = i;
    if (!bare) continue;
    // An address with its domain, or a group (`team: a, b;`), is not ours to change.
    if (c === "@" || c === ":" || c === ";") return entry;
    if (c === "<" && open === -1) open = i;
    else if (c === ">" && open !== -1 && close === -1) close = i;
  }
  if (!scan.balanced || (open === -1) !== (close === -1)) return entry;
  if (open !== -1) {
    const local = entry.slice(open + 1, close).trimEnd();
    if (local.trim() === "") return entry;
    const at = open + 1 + local.length;
    return entry.slice(0, at) + "@" + domain + entry.slice(at);
  }
  if (last === -1) return entry;
  return entry.slice(0, last + 1) + "@" + domain + entry.slice(last + 1);
}

const WHITESPACE = new Set([" ", "\t", "\r", "\n"]);
