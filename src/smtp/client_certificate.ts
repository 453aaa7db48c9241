// Whether a client certificate is one a `verify` listener takes: signed, through the
// certificates of its ca file, by a self-signed CA there, valid now and usable for client
// authentication (what OpenSSL checks for libtls). The handshake itself is tls.ts's.

import { X509Certificate } from "node:crypto";
import {
  ANY_EXTENDED_KEY_USAGE_OID,
  CLIENT_AUTH_OID,
  extendedKeyUsages,
} from "./extended_key_usage.ts";

// OpenSSL's default verification depth.
const MAX_CHAIN_LENGTH = 100;
const PEM_CERTIFICATE_REGEXP = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM file (a `ca` may hold a root and intermediates). */
export function parseCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERTIFICATE_REGEXP) ?? []).map((block) => new X509Certificate(block));
}

/**
 * Why `leaf` is refused, in OpenSSL's words, or undefined when it chains to a self-signed
 * certificate among `authorities` with every link signed, valid at `now`, and every issuer
 * a CA. The client's own intermediates are not seen (the runtime gives the leaf alone), so
 * an intermediate must be in the ca file.
 *
 * @example
 * ```ts ignore
 * checkClientCertificate(socket.getPeerX509Certificate(), parseCertificates(caPem));
 * ```
 */
export function checkClientCertificate(
  leaf: X509Certificate | undefined,
  authorities: readonly X509Certificate[],
  now: Date = new Date(),
): string | undefined {
  if (!leaf) return "no certificate";
  const purpose = purposeRefusal(leaf);
  if (purpose) return purpose;
  let current = leaf;
  for (let length = 1; length <= MAX_CHAIN_LENGTH; length++) {
    const validity = validityRefusal(current, now);
    if (validity) return validity;
    const issuer = authorities.find((ca) => issued(ca, current));
    if (!issuer) {
      return issued(current, current)
        ? "self-signed certificate"
        : "unable to get local issuer certificate";
    }
    if (!issuer.ca) return "invalid CA certificate";
    if (issued(issuer, issuer)) return validityRefusal(issuer, now);
    current = issuer;
  }
  return "certificate chain too long";
}

function issued(issuer: X509Certificate, subject: X509Certificate): boolean {
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

function validityRefusal(certificate: X509Certificate, now: Date): string | undefined {
  if (now < certificate.validFromDate) return "certificate is not yet valid";
  if (now > certificate.validToDate) return "certificate has expired";
  return undefined;
}

// OpenSSL's "ssl_client" purpose: an extendedKeyUsage, when there is one, must allow it.
function purposeRefusal(leaf: X509Certificate): string | undefined {
  let usages: string[] | undefined;
  try {
    usages = extendedKeyUsages(new Uint8Array(leaf.raw));
  } catch {
    return "unsupported certificate purpose";
  }
  if (!usages || usages.includes(CLIENT_AUTH_OID) || usages.includes(ANY_EXTENDED_KEY_USAGE_OID)) {
    return undefined;
  }
  return "unsupported certificate purpose";
}
