// The extendedKeyUsage extension of a DER certificate, which node:crypto's X509Certificate
// does not expose: a walk down to the extensions (RFC 5280 §4.1), nothing more of ASN.1.

/** RFC 5280 §4.2.1.12: TLS WWW client authentication. */
export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
/** RFC 5280 §4.2.1.12: any purpose. */
export const ANY_EXTENDED_KEY_USAGE_OID = "2.5.29.37.0";
const EXTENDED_KEY_USAGE_OID = "2.5.29.37";

interface Element {
  readonly tag: number;
  /** The contents, without tag and length. */
  readonly body: Uint8Array;
  /** Where the next element starts in the enclosing contents. */
  readonly end: number;
}

/**
 * The purposes a certificate's extendedKeyUsage extension lists (dotted OIDs), or undefined
 * when it has none (any purpose, then). Throws on DER it cannot read.
 */
export function extendedKeyUsages(der: Uint8Array): string[] | undefined {
  const certificate = readElement(der, 0);
  const tbs = readElement(certificate.body, 0);
  for (let at = 0; at < tbs.body.length;) {
    const field = readElement(tbs.body, at);
    at = field.end;
    // [3] EXPLICIT Extensions, the last field of TBSCertificate.
    if (field.tag !== 0xa3) continue;
    const extensions = readElement(field.body, 0);
    for (const extension of children(extensions.body)) {
      const parts = children(extension.body);
      if (decodeOid(parts[0]!) !== EXTENDED_KEY_USAGE_OID) continue;
      // extnValue is the last part, after the optional critical flag.
      const value = parts[parts.length - 1]!;
      return children(readElement(value.body, 0).body).map(decodeOid);
    }
  }
  return undefined;
}

function children(body: Uint8Array): Element[] {
  const found: Element[] = [];
  for (let at = 0; at < body.length;) {
    const element = readElement(body, at);
    found.push(element);
    at = element.end;
  }
  return found;
}

function readElement(bytes: Uint8Array, at: number): Element {
  const tag = bytes[at];
  let length = bytes[at + 1];
  if (tag === undefined || length === undefined) throw new Error("Truncated DER");
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error("Unsupported DER length");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (bytes[start + i] ?? 0);
    start += octets;
  }
  const end = start + length;
  if (end > bytes.length) throw new Error("Truncated DER");
  return { tag, body: bytes.subarray(start, end), end };
}

function decodeOid(element: Element): string {
  if (element.tag !== 0x06 || element.body.length === 0) throw new Error("Expected an OID");
  const arcs: number[] = [];
  let value = 0;
  for (const byte of element.body) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (arcs.length === 0) {
      arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    } else arcs.push(value);
    value = 0;
  }
  return arcs.join(".");
}
