// Identifiers and address forms the SMTP box derives from a connection: random hex ids for
// sessions and messages, and the plain IPv4 form of an IPv4-mapped client address.

/**
 * Random hex digits from the system's CSPRNG (`bytes` bytes, twice as many digits).
 *
 * @example
 * ```ts
 * import { randomHex } from "./ids.ts";
 * randomHex(4).length; // 8
 * ```
 */
export function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of data) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), which a
 * dual-stack listener reports for IPv4 clients; any other address unchanged.
 *
 * @example
 * ```ts
 * import { unmapIpv4 } from "./ids.ts";
 * unmapIpv4("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function unmapIpv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
