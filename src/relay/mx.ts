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
  const dns = options.nameServer
    ? { nameServer: { ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 } }
    : {};
  // A literal address ([192.0.2.1]) is its own host.
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) return { kind: "hosts", hosts: [literal[1]!] };
  try {
    const records = await Deno.resolveDns(domain, "MX", dns);
    if (records.length === 1 && (records[0]!.exchange === "." || records[0]!.exchange === "")) {
      return permfail(`5.1.10 ${domain} does not accept mail (null MX)`);
    }
    const sorted = [...records]
      .sort((a, b) => a.preference - b.preference)
      .map((r) => ({ host: r.exchange.replace(/\.$/, ""), preference: r.preference }))
      .filter((r) => r.host !== "");
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
      const failed = await lookupFailure(domain, options);
      if (failed) return failed;
      // NXDOMAIN, or no MX: try the domain's own address records.
      return await implicitMx(domain, dns);
    }
    return tempfail(`4.4.3 MX lookup for ${domain} failed: ${errorMessage(error)}`);
  }
  return await implicitMx(domain, dns);
}

// A temporary failure when the MX question itself failed (SERVFAIL, REFUSED, no answer).
async function lookupFailure(
  domain: string,
  options: MxOptions,
): Promise<DeliveryFailure | undefined> {
  try {
    const answer = await queryDns(domain, "MX", options.nameServer ? options : {});
    if (answer.rcode === "NOERROR" || answer.rcode === "NXDOMAIN") return undefined;
    return tempfail(`4.4.3 MX lookup for ${domain} failed: ${answer.rcode}`);
  } catch (error) {
    return tempfail(`4.4.3 MX lookup for ${domain} failed: ${errorMessage(error)}`);
  }
}

async function implicitMx(
  domain: string,
  dns: { nameServer?: { ipAddr: string; port: number } },
): Promise<MxResult> {
  for (const type of ["A", "AAAA"] as const) {
    try {
      if ((await Deno.resolveDns(domain, type, dns)).length > 0) {
        return { kind: "hosts", hosts: [domain] };
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        return tempfail(`4.4.3 lookup of ${domain} failed: ${errorMessage(error)}`);
      }
    }
  }
  return permfail(`5.1.2 domain ${domain} does not exist`);
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
