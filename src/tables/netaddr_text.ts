// Matching an address against a table that can only compare text (SQL, Redis): the
// address as given, then the canonical text of every block holding it, most specific first.

import { enclosingBlock, formatNetBlock, parseIp } from "../net/mod.ts";

/**
 * True when the probe finds the address itself or a block that contains it
 * (`192.0.2.0/24`, `2001:db8::/32`).
 */
export function matchNetaddrByText(address: string, has: (key: string) => boolean): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (has(address)) return true;
  for (let prefix = ip.family === 4 ? 32 : 128; prefix >= 0; prefix--) {
    if (has(formatNetBlock(enclosingBlock(ip, prefix)))) return true;
  }
  return false;
}
