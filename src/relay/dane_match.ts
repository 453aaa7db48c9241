// Whether a server's certificate chain satisfies its TLSA records (RFC 6698 §2.1, with the
// SMTP profile of RFC 7672 §3.1): DANE-EE(3) matches the server's own certificate with no
// other check; DANE-TA(2) matches a trust anchor the chain leads to, and the leaf must then
// name the host. PKIX usages (0, 1) are not used for SMTP and never reach this file.

import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";

/** One usable TLSA record: usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2. */
export interface TlsaRecord {
  readonly usage: 2 | 3;
  readonly selector: 0 | 1;
  readonly matchingType: 0 | 1 | 2;
  readonly data: Uint8Array;
}

/** The verdict on one chain: which record matched, or why none did. */
export type DaneVerdict =
  | { readonly ok: true; readonly matched: string }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link matchDane}. */
export interface DaneMatchOptions {
  /** The names the leaf may carry under DANE-TA (RFC 7672 §3.2.3): the MX host first. */
  readonly names: readonly string[];
  /** The time certificates below the trust anchor must be valid at (ms). */
  readonly now?: number;
}

/** `3 1 1 ab12cd…` as the log shows a record. */
export function describeTlsa(record: TlsaRecord): string {
  const hex = Buffer.from(record.data).toString("hex");
  return `${record.usage} ${record.selector} ${record.matchingType} ${
    hex.length > 16 ? `${hex.slice(0, 16)}…` : hex
  }`;
}

/** Checks a presented chain (DER, leaf first) against the usable records of its host. */
export function matchDane(
  chain: readonly Uint8Array[],
  records: readonly TlsaRecord[],
  options: DaneMatchOptions,
): DaneVerdict {
  if (chain.length === 0) return { ok: false, reason: "the server presented no certificate" };
  let certs: X509Certificate[];
  try {
    certs = chain.map((der) => new X509Certificate(Buffer.from(der)));
  } catch (error) {
    return { ok: false, reason: `unreadable certificate: ${(error as Error).message}` };
  }
  // RFC 7672 §3.1.1: DANE-EE binds the key (or certificate) itself: no name, no dates.
  for (const record of records) {
    if (record.usage === 3 && matches(record, certs[0]!)) {
      return { ok: true, matched: `DANE-EE ${describeTlsa(record)}` };
    }
  }
  const taRecords = records.filter((r) => r.usage === 2);
  if (taRecords.length === 0) {
    return { ok: false, reason: "no DANE-EE record matches the server's certificate" };
  }
  const ta = findTrustAnchor(certs, taRecords);
  if (!ta) {
    const ee = records.length > taRecords.length ? "no DANE-EE record matches and " : "";
    return { ok: false, reason: `${ee}no certificate of the chain matches a DANE-TA record` };
  }
  const broken = checkChain(certs, ta.index, ta.key, options.now ?? Date.now());
  if (broken) return { ok: false, reason: broken };
  // RFC 7672 §3.2.3: under DANE-TA the leaf must name the MX host (or the next-hop domain).
  const leaf = certs[0]!;
  const named = options.names.find((n) => leaf.checkHost(n) !== undefined);
  if (!named) {
    return {
      ok: false,
      reason: `the certificate names none of ${options.names.join(", ")} (DANE-TA name check)`,
    };
  }
  return { ok: true, matched: `DANE-TA ${describeTlsa(ta.record)} name ${named}` };
}

function matches(record: TlsaRecord, cert: X509Certificate): boolean {
  return equal(digest(record, selected(record, cert)), record.data);
}

// Selector 0: the whole certificate; 1: its SubjectPublicKeyInfo (RFC 6698 §2.1.2).
function selected(record: TlsaRecord, cert: X509Certificate): Uint8Array {
  return record.selector === 0
    ? new Uint8Array(cert.raw)
    : new Uint8Array(cert.publicKey.export({ type: "spki", format: "der" }));
}

// Matching type 0: exact; 1: SHA-256; 2: SHA-512 (RFC 6698 §2.1.3).
function digest(record: TlsaRecord, data: Uint8Array): Uint8Array {
  if (record.matchingType === 0) return data;
  const hash = createHash(record.matchingType === 1 ? "sha256" : "sha512");
  return new Uint8Array(hash.update(data).digest());
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

type Anchor = { index: number; record: TlsaRecord; key: ReturnType<typeof createPublicKey> };

// The trust anchor: a certificate of the chain above the leaf that a record matches, or,
// for a record that carries a whole public key (2 1 0), a key that signed the top of it.
function findTrustAnchor(certs: X509Certificate[], records: TlsaRecord[]): Anchor | undefined {
  for (let index = 1; index < certs.length; index++) {
    const record = records.find((r) => matches(r, certs[index]!));
    if (record) return { index, record, key: certs[index]!.publicKey };
  }
  for (const record of records) {
    if (record.selector !== 1 || record.matchingType !== 0) continue;
    try {
      const key = createPublicKey({ key: Buffer.from(record.data), format: "der", type: "spki" });
      const top = certs.length - 1;
      if (certs[top]!.verify(key)) return { index: certs.length, record, key };
    } catch {
      // Not a key: the record matches nothing.
    }
  }
  return undefined;
}

// Each certificate below the anchor is signed by the next, which must be a CA, and is in
// its validity period (RFC 7671 §5.2.2: the anchor's own dates are not checked).
function checkChain(
  certs: X509Certificate[],
  anchorIndex: number,
  anchorKey: ReturnType<typeof createPublicKey>,
  now: number,
): string | undefined {
  for (let i = 0; i < anchorIndex && i < certs.length; i++) {
    const cert = certs[i]!;
    const issuer = certs[i + 1];
    const signedBy = issuer ? issuer.publicKey : anchorKey;
    if (issuer && (!issuer.ca || !cert.checkIssued(issuer))) {
      return `certificate ${i} of the chain is not issued by certificate ${i + 1}`;
    }
    if (!cert.verify(signedBy)) {
      return `the signature on certificate ${i} of the chain does not verify`;
    }
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      return `certificate ${i} of the chain is outside its validity (${cert.validFrom} to ${cert.validTo})`;
    }
  }
  return undefined;
}
