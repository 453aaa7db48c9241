// Network addresses and CIDR blocks, IPv4 and IPv6, as netaddr tables hold them
// (`192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`, `[::1]`).

/** A parsed address block: family, first address and prefix length. */
export interface NetBlock {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

/** Parses an IPv4 or IPv6 address to a number, or undefined when it is not one. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (t.includes(":")) {
    const v6 = parseIpv6(t);
    return v6 === undefined ? undefined : { family: 6, value: v6 };
  }
  const v4 = parseIpv4(t);
  return v4 === undefined ? undefined : { family: 4, value: v4 };
}

/** Parses `ADDRESS` or `ADDRESS/PREFIX`; undefined when malformed. */
export function parseNetBlock(text: string): NetBlock | undefined {
  const slash = text.indexOf("/");
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefix = slash === -1 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  const shift = BigInt(max - prefix);
  return { family: ip.family, base: (ip.value >> shift) << shift, prefix };
}

/** True when the address lies in the block. */
export function blockContains(block: NetBlock, ip: { family: 4 | 6; value: bigint }): boolean {
  if (block.family !== ip.family) return false;
  const shift = BigInt((block.family === 4 ? 32 : 128) - block.prefix);
  return (ip.value >> shift) << shift === block.base;
}

/** The block of the given prefix length that contains the address. */
export function enclosingBlock(ip: { family: 4 | 6; value: bigint }, prefix: number): NetBlock {
  const shift = BigInt((ip.family === 4 ? 32 : 128) - prefix);
  return { family: ip.family, base: (ip.value >> shift) << shift, prefix };
}

/**
 * The canonical text of a block: the address alone for a host (`/32`, `/128`), otherwise
 * `ADDRESS/PREFIX`; IPv6 in RFC 5952 form (lowercase, longest zero run as `::`).
 */
export function formatNetBlock(block: NetBlock): string {
  const max = block.family === 4 ? 32 : 128;
  const address = formatIp(block.family, block.base);
  return block.prefix === max ? address : `${address}/${block.prefix}`;
}

/** An address in its canonical text form. */
export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952 §4.2: the longest run of two or more zero groups becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) counts as two groups.
  let t = text;
  const lastColon = t.lastIndexOf(":");
  const tail = t.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    t = `${t.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const rest = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}
