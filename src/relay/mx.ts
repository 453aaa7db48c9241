// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts by preference, or the
// domain itself when it has none. A null MX (`0 .`) means the domain takes no mail; a
// domain that does not exist fails for good; other DNS trouble is worth another try.

import { queryDns } from "../dns/mod.ts";
import { type DeliveryFailure, errorMessage, permfail, tempfail } from "../mail/mod.ts";

/** The hosts to try, best first, or why there are none. */
export type MxResult =
  | {
    readonly kind: "hosts";
    readonly hosts: readonly string[];
    /** Each host's MX preference, when the hosts came from MX records. */
    readonly preferences?: readonly number[];
  }
  | DeliveryFailure;

/** DNS settings (tests point at a server of their own). */
export interface MxOptions {
  readonly nameServer?: { readonly ipAddr: string; readonly port?: number };
}

/** Looks a domain's mail hosts up. */
export async function resolveMx(domain: string, options: MxOptions = {}): Promise<MxResult> {
  const dns = resolverOf(options);
  // A literal address ([192.0.2.1]) is its own host.
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) return { kind: "hosts", hosts: [literal[1]!] };
  try {
    const records = await Deno.resolveDns(domain, "MX", dns);
    if (records.length === 1 && (records[0]!.exchange === "." || records[0]!.exchange === "")) {
      return permfail(`5.1.10 ${domain} does not accept mail (null MX)`);
    }
    const named = records
      .map((r) => ({ host: r.exchange.replace(/\.$/, ""), preference: r.preference }))
      .filter((r) => r.host !== "");
    // OpenSMTPD's dns.c: an MX named localhost is a null MX. Followed, it would bring the
    // mail back to this host (or its neighbour on the loopback) until the hop count ran out.
    const usable = named.filter((r) => r.host.toLowerCase() !== "localhost");
    if (usable.length === 0 && named.length > 0) {
      return permfail(`5.1.10 ${domain} does not accept mail (its MX is localhost)`);
    }
    const sorted = byPreference(usable);
    if (sorted.length > 0) {
      return {
        kind: "hosts",
        hosts: sorted.map((r) => r.host),
        preferences: sorted.map((r) => r.preference),
      };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      // Deno says NotFound for SERVFAIL too (a DNSSEC-bogus or unreachable zone): that is
      // worth another try, never a bounce, and never a reason to use the address records.
      const rcode = await lookupRcode(domain, "MX", options);
      if (typeof rcode !== "string") return rcode;
      if (rcode === "NXDOMAIN") return permfail(`5.1.2 domain ${domain} does not exist`);
      // No MX: try the domain's own address records.
      return await implicitMx(domain, options);
    }
    return tempfail(`4.4.3 MX lookup for ${domain} failed: ${errorMessage(error)}`);
  }
  return await implicitMx(domain, options);
}

// RFC 5321 §5.1: lowest preference first, and hosts of equal preference in random order
// (the client MUST randomise them, so that they share the load).
function byPreference<T extends { readonly preference: number }>(records: readonly T[]): T[] {
  return records
    .map((record) => ({ record, draw: Math.random() }))
    .sort((a, b) => a.record.preference - b.record.preference || a.draw - b.draw)
    .map(({ record }) => record);
}

// What the resolver answered (NOERROR or NXDOMAIN), after Deno's NotFound, which stands for
// every other rcode as well; those, and no answer at all, are a temporary failure.
async function lookupRcode(
  domain: string,
  type: "MX" | "A" | "AAAA",
  options: MxOptions,
): Promise<"NOERROR" | "NXDOMAIN" | DeliveryFailure> {
  try {
    const answer = await queryDns(domain, type, options.nameServer ? options : {});
    if (answer.rcode === "NOERROR" || answer.rcode === "NXDOMAIN") return answer.rcode;
    return tempfail(`4.4.3 ${type} lookup for ${domain} failed: ${answer.rcode}`);
  } catch (error) {
    return tempfail(`4.4.3 ${type} lookup for ${domain} failed: ${errorMessage(error)}`);
  }
}

// RFC 5321 §5.1: without MX records, the domain itself is the host (its implicit MX).
async function implicitMx(domain: string, options: MxOptions): Promise<MxResult> {
  let exists = false;
  for (const type of ["A", "AAAA"] as const) {
    try {
      if ((await Deno.resolveDns(domain, type, resolverOf(options))).length > 0) {
        return { kind: "hosts", hosts: [domain] };
      }
      exists = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        return tempfail(`4.4.3 ${type} lookup for ${domain} failed: ${errorMessage(error)}`);
      }
      const rcode = await lookupRcode(domain, type, options);
      if (typeof rcode !== "string") return rcode;
      exists ||= rcode === "NOERROR";
    }
  }
  // RFC 5321 §5.1: an unusable implicit MX "MUST be reported as an error". Like Postfix,
  // a name that exists but has no address is final: its owner published it so.
  return permfail(
    exists
      ? `5.1.2 domain ${domain} has no MX and no address record`
      : `5.1.2 domain ${domain} does not exist`,
  );
}

function resolverOf(options: MxOptions): { nameServer?: { ipAddr: string; port: number } } {
  return options.nameServer
    ? { nameServer: { ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 } }
    : {};
}

/** The addresses of a mail host (A, then AAAA), through the same resolver as its MX. */
export async function resolveHostAddresses(
  host: string,
  options: MxOptions = {},
): Promise<string[]> {
  if (/^[\d.]+$/.test(host) || host.includes(":")) return [host];
  const dns = options.nameServer
    ? { nameServer: { ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 } }
    : {};
  const addresses: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      addresses.push(...await Deno.resolveDns(host, type, dns));
    } catch {
      // No record of this type.
    }
  }
  return addresses;
}
