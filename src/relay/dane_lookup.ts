// What DNSSEC says about a destination, for DANE (RFC 7672 §2.2): whether its MX records
// are secure, and for each MX host whose address records are secure too, its usable TLSA
// records at `_25._tcp.HOST`. A validating resolver's AD bit is trusted, as Postfix does.

import { type DnsAnswer, type NameServer, queryDns } from "../dns/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import type { TlsaRecord } from "./dane_match.ts";

/** What DANE means for one MX host. */
export type DaneStatus =
  /** Usable records: TLS is mandatory and the certificate must match one of them. */
  | { readonly kind: "dane"; readonly records: readonly TlsaRecord[]; readonly reason: string }
  /** Secure records, none usable: TLS is still mandatory, unauthenticated (RFC 7672 §2.2). */
  | { readonly kind: "unusable"; readonly reason: string }
  /** DANE does not apply (insecure answers or no TLSA records): the normal policy. */
  | { readonly kind: "none"; readonly reason: string }
  /** The lookup failed: the host cannot be used until it answers (RFC 7672 §2.1.1). */
  | { readonly kind: "failed"; readonly reason: string };

/** The resolver DANE asks. */
export interface DaneLookupOptions {
  readonly nameServer?: NameServer;
}

// RFC 7672 §2.1: the TLSA records of an MX host are those of the SMTP port.
const SMTP_PORT = 25;

/**
 * Whether the domain's MX records (or, without any, its own address records) are
 * DNSSEC-secure: the precondition of any TLSA lookup (RFC 7672 §2.2.1).
 */
export async function mxIsSecure(
  domain: string,
  options: DaneLookupOptions = {},
): Promise<{ readonly secure: boolean } | { readonly failed: string }> {
  try {
    const mx = await queryDns(domain, "MX", dnsOptions(options));
    if (mx.rcode === "SERVFAIL") return { failed: `MX lookup of ${domain}: SERVFAIL` };
    if (mx.records.length > 0) return { secure: mx.secure };
    const address = await queryDns(domain, "A", dnsOptions(options));
    return { secure: mx.secure && address.secure };
  } catch (error) {
    return { failed: errorMessage(error) };
  }
}

/** The DANE status of one MX host reached through a secure MX lookup. */
export async function lookupDaneHost(
  host: string,
  options: DaneLookupOptions = {},
): Promise<DaneStatus> {
  const dns = dnsOptions(options);
  let address: DnsAnswer;
  try {
    address = await queryDns(host, "A", dns);
    if (address.rcode === "NOERROR" && address.records.length === 0) {
      address = await queryDns(host, "AAAA", dns);
    }
  } catch (error) {
    return { kind: "failed", reason: `address lookup of ${host}: ${errorMessage(error)}` };
  }
  if (address.rcode === "SERVFAIL") {
    return { kind: "failed", reason: `address lookup of ${host}: SERVFAIL` };
  }
  // RFC 7672 §2.2.2: the host's name is only worth a TLSA lookup when its addresses are secure.
  if (!address.secure) {
    return { kind: "none", reason: `the address records of ${host} are not DNSSEC-validated` };
  }
  const name = `_${SMTP_PORT}._tcp.${host}`;
  let tlsa: DnsAnswer;
  try {
    tlsa = await queryDns(name, "TLSA", dns);
  } catch (error) {
    return { kind: "failed", reason: `TLSA lookup of ${name}: ${errorMessage(error)}` };
  }
  if (tlsa.rcode !== "NOERROR" && tlsa.rcode !== "NXDOMAIN") {
    return { kind: "failed", reason: `TLSA lookup of ${name}: ${tlsa.rcode}` };
  }
  if (tlsa.records.length === 0) return { kind: "none", reason: `no TLSA records at ${name}` };
  if (!tlsa.secure) {
    return { kind: "none", reason: `the TLSA records at ${name} are not DNSSEC-validated` };
  }
  const usable = tlsa.records.flatMap((r) => r.type === "TLSA" ? usableRecord(r) : []);
  if (usable.length === 0) {
    return {
      kind: "unusable",
      reason: `none of the ${tlsa.records.length} TLSA records at ${name} is usable`,
    };
  }
  return { kind: "dane", records: usable, reason: `${usable.length} usable TLSA at ${name}` };
}

/**
 * The record as DANE for SMTP uses it, or nothing: PKIX-TA(0) and PKIX-EE(1) do not apply
 * to SMTP (RFC 7672 §3.1.3), unknown selectors or matching types and digests of the wrong
 * length are unusable (RFC 7671 §4).
 */
export function usableRecord(
  record: { usage: number; selector: number; matchingType: number; data: Uint8Array },
): TlsaRecord[] {
  const { usage, selector, matchingType, data } = record;
  if (usage !== 2 && usage !== 3) return [];
  if (selector !== 0 && selector !== 1) return [];
  if (matchingType !== 0 && matchingType !== 1 && matchingType !== 2) return [];
  const length = matchingType === 1 ? 32 : matchingType === 2 ? 64 : undefined;
  if (length !== undefined ? data.length !== length : data.length === 0) return [];
  return [{ usage, selector, matchingType, data }];
}

function dnsOptions(options: DaneLookupOptions) {
  return options.nameServer ? { nameServer: options.nameServer } : {};
}
