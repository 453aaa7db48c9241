// Reverse DNS of clients, for `from rdns` and the Received: header: the PTR name, as
// OpenSMTPD's getnameinfo() gives it, and whether it resolves back to the same address
// (forward-confirmed), which builtin filters' `fcrdns` tests.

import { parseIp } from "../net/mod.ts";
import type { RdnsAnswer } from "../smtp/mod.ts";

/** Options of {@link createRdnsResolver}. */
export interface RdnsOptions {
  /** A DNS server to ask instead of the system's (tests run their own). */
  readonly nameServer?: { readonly ipAddr: string; readonly port?: number };
  /** Give up after this long (default 5 s). */
  readonly timeoutMs?: number;
}

/** A resolver that never rejects: undefined when the address has no PTR name. */
export function createRdnsResolver(
  options: RdnsOptions = {},
): (ip: string) => Promise<RdnsAnswer | undefined> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const dns = options.nameServer
    ? { nameServer: { ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 } }
    : {};
  return async (ip) => {
    const parsed = parseIp(ip);
    if (!parsed) return undefined;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const names = await Deno.resolveDns(reverseName(parsed), "PTR", { ...dns, signal });
      const same = (a: string) => {
        const back = parseIp(a);
        return back !== undefined && back.value === parsed.value && back.family === parsed.family;
      };
      // The first PTR name is the client's name (smtp_session.c: getnameinfo(), then a
      // forward lookup of that name sets fcrdns only).
      const first = names[0];
      if (first === undefined) return undefined;
      const name = first.replace(/\.$/, "");
      const type = parsed.family === 4 ? "A" : "AAAA";
      const forward = await Deno.resolveDns(name, type, { ...dns, signal }).catch(() => []);
      const confirmed = forward.some(same);
      // Deno's resolver answers `localhost` for every 127/8 address (RFC 6761 §6.3), where
      // OpenSMTPD's finds no name for 127.0.0.2: that name counts only when it resolves back.
      if (!confirmed && name.toLowerCase() === "localhost") return undefined;
      return { name, confirmed };
    } catch {
      return undefined;
    }
  };
}

/** `4.3.2.1.in-addr.arpa` or the nibble form under ip6.arpa. */
export function reverseName(ip: { family: 4 | 6; value: bigint }): string {
  if (ip.family === 4) {
    const octets = [];
    for (let i = 0; i < 4; i++) octets.push(Number((ip.value >> BigInt(8 * i)) & 0xffn));
    return `${octets.join(".")}.in-addr.arpa`;
  }
  const nibbles = [];
  for (let i = 0; i < 32; i++) nibbles.push(((ip.value >> BigInt(4 * i)) & 0xfn).toString(16));
  return `${nibbles.join(".")}.ip6.arpa`;
}
