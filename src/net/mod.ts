// Public face of the network-address box: IP addresses and CIDR blocks, shared by the
// configuration checks, the tables and the rules.
export {
  blockContains,
  enclosingBlock,
  formatNetBlock,
  parseIp,
  parseNetBlock,
} from "./netaddr.ts";
export type { NetBlock } from "./netaddr.ts";
