// A set of address blocks answering "is this address inside any of them" in one hash
// probe per distinct prefix length, IPv4 with plain numbers: what netaddr matching needs.

import { type NetBlock, parseIp } from "../net/mod.ts";

/** Address blocks indexed by prefix length. */
export class NetSet {
  #v4 = new Map<number, Set<number>>();
  #v4Prefixes: number[] = [];
  #v6 = new Map<number, Set<bigint>>();
  #v6Prefixes: number[] = [];

  constructor(blocks: Iterable<NetBlock>) {
    for (const block of blocks) {
      if (block.family === 4) {
        let set = this.#v4.get(block.prefix);
        if (!set) this.#v4.set(block.prefix, set = new Set());
        set.add(Number(block.base));
      } else {
        let set = this.#v6.get(block.prefix);
        if (!set) this.#v6.set(block.prefix, set = new Set());
        set.add(block.base);
      }
    }
    // Longest prefixes first: host entries are the commonest.
    this.#v4Prefixes = [...this.#v4.keys()].sort((a, b) => b - a);
    this.#v6Prefixes = [...this.#v6.keys()].sort((a, b) => b - a);
  }

  /** True when the address text (`192.0.2.1`, `2001:db8::1`, `[::1]`) lies in a block. */
  has(address: string): boolean {
    const v4 = parseIpv4Number(address);
    if (v4 !== undefined) {
      for (const prefix of this.#v4Prefixes) {
        // `>>> 0` keeps the masked value unsigned, as stored.
        const base = prefix === 0 ? 0 : (v4 & (-1 << (32 - prefix))) >>> 0;
        if (this.#v4.get(prefix)!.has(base)) return true;
      }
      return false;
    }
    if (this.#v6Prefixes.length === 0) return false;
    const ip = parseIp(address);
    if (!ip || ip.family !== 6) return false;
    for (const prefix of this.#v6Prefixes) {
      const shift = BigInt(128 - prefix);
      if (this.#v6.get(prefix)!.has((ip.value >> shift) << shift)) return true;
    }
    return false;
  }
}

// Dotted-quad IPv4 to an unsigned 32-bit number, without allocating; undefined otherwise.
function parseIpv4Number(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}
