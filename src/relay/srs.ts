// The Sender Rewriting Scheme as OpenSMTPD writes it (smtpd.conf(5) `srs`): a forwarded
// message's sender becomes SRS0=HHHH=TT=domain=user@forwarder (SRS1 for one already
// rewritten), and a bounce to such an address is mapped back once its hash and day check.

import { createHash } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DAY_MS = 86_400_000;
/** The day counter wraps after 1024 days (10 bits, two base32 digits). */
const DAYS = 1024;

/** The keys and time limits of the scheme. */
export interface SrsKeys {
  /** `srs key`: signs new addresses and checks returning ones. */
  readonly key: string;
  /** `srs key backup`: still accepted for returning addresses (a key being rotated out). */
  readonly backupKey?: string;
  /** `srs ttl`, in days: how old a returning address may be (default 4, the queue's ttl). */
  readonly ttlDays?: number;
}

// HHHH: the first four characters of base64(SHA1(key || text)), as OpenSMTPD's srs.c.
function srsHash(key: string, text: string): string {
  return createHash("sha1").update(key).update(text).digest("base64").slice(0, 4);
}

function today(now: number): number {
  return Math.floor(now / DAY_MS) % DAYS;
}

function split(address: string): [string, string] | undefined {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return undefined;
  return [address.slice(0, at), address.slice(at + 1)];
}

/**
 * The sender a message forwarded for `forwarderDomain` goes out with: SRS0 for a plain
 * address, SRS1 for an SRS0 or SRS1 one (the original hop's part is kept as it is). An
 * address that cannot be parsed is returned unchanged, as OpenSMTPD does.
 *
 * @example
 * ```ts
 * import { srsEncode } from "./srs.ts";
 * srsEncode("alice@example.org", "forwarder.test", { key: "secret" }).startsWith("SRS0="); // true
 * ```
 */
export function srsEncode(
  sender: string,
  forwarderDomain: string,
  keys: SrsKeys,
  now = Date.now(),
): string {
  const parts = split(sender);
  if (!parts) return sender;
  const [user, domain] = parts;
  const prefix = user.slice(0, 5).toUpperCase();
  if (prefix === "SRS0=") {
    const rest = `${domain}==${user.slice(5)}@${forwarderDomain}`;
    return `SRS1=${srsHash(keys.key, rest)}=${rest}`;
  }
  if (prefix === "SRS1=") {
    // SRS1=HHHH=first-hop==…: this hop's hash replaces the previous one's.
    const rest = `${user.slice(5)}@${forwarderDomain}`;
    if (rest.length < 5 || !"=+-".includes(rest[4]!)) return sender;
    return `SRS1=${srsHash(keys.key, rest.slice(5))}=${rest.slice(5)}`;
  }
  const t = today(now);
  const rest = `${BASE32[(t >> 5) & 31]}${BASE32[t & 31]}=${domain}=${user}@${forwarderDomain}`;
  return `SRS0=${srsHash(keys.key, rest)}=${rest}`;
}

/** True when `address` has the form of an SRS address (SRS0= or SRS1=, any case). */
export function isSrsAddress(address: string): boolean {
  return /^SRS[01]=/i.test(address);
}

/**
 * The address an SRS address stands for, or undefined when its hash is not one of the
 * keys' or its day is outside the ttl (an SRS1 address gives back the SRS0 one of the hop
 * before, whose day is checked too).
 */
export function srsDecode(address: string, keys: SrsKeys, now = Date.now()): string | undefined {
  if (!isSrsAddress(address)) return undefined;
  const srs1 = address[3] === "1";
  const signed = address.slice(5);
  if (signed.length < 5) return undefined;
  const hash = signed.slice(0, 4);
  const text = signed.slice(5);
  const good = [keys.key, keys.backupKey].some((k) => k !== undefined && srsHash(k, text) === hash);
  if (!good) return undefined;
  const ttl = keys.ttlDays ?? 4;
  if (!srs1) {
    if (text.length < 3 || !dayInRange(text.slice(0, 2), ttl, now)) return undefined;
    const parts = split(text.slice(3));
    if (!parts) return undefined;
    const eq = parts[0].indexOf("=");
    if (eq < 0) return undefined;
    return `${parts[0].slice(eq + 1)}@${parts[0].slice(0, eq)}`;
  }
  const parts = split(text);
  if (!parts) return undefined;
  const eq = parts[0].indexOf("=");
  if (eq < 0) return undefined;
  const firstHop = parts[0].slice(0, eq);
  const srs0 = parts[0].slice(eq + 1); // "=HHHH=TT=domain=user"
  if (srs0.length < 9 || !"=+-".includes(srs0[8]!)) return undefined;
  if (!dayInRange(srs0.slice(6, 8), ttl, now)) return undefined;
  return `SRS0${srs0}@${firstHop}`;
}

// The day TT lies within `ttl` days before today, or is tomorrow (clocks drift).
function dayInRange(tt: string, ttl: number, now: number): boolean {
  const hi = BASE32.indexOf(tt[0]!.toUpperCase());
  const lo = BASE32.indexOf(tt[1]!.toUpperCase());
  if (hi < 0 || lo < 0) return false;
  const age = (today(now) - ((hi << 5) | lo) + DAYS) % DAYS;
  return age <= ttl || age === DAYS - 1;
}
