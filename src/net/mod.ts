/**
 * IP addresses and CIDR blocks, IPv4 and IPv6: parsing, containment and printing, shared
 * by the configuration checks, the netaddr tables and the rules.
 *
 * @module
 */
export {
  blockContains,
  enclosingBlock,
  formatNetBlock,
  parseIp,
  parseNetBlock,
} from "./netaddr.ts";
export type { NetBlock } from "./netaddr.ts";
