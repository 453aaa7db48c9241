// The plain IPv4 form of an IPv4-mapped IPv6 address, which a dual-stack listener reports
// for IPv4 clients.

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2); any other
 * address unchanged.
 *
 * @example
 * ```ts
 * import { unmapIpv4 } from "./ipv4_mapped.ts";
 * unmapIpv4("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function unmapIpv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
