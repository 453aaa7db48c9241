// libtls's protocol lists (tls_config_parse_protocols(3), what OpenSMTPD's `protocols`
// takes): `tlsv1.2,tlsv1.3`, `secure`/`default`, `all`/`legacy`, `tlsv1`, a `!` or `-` in
// front to take one away; read into the range of versions a TLS endpoint allows.

/** TLS versions as node:tls names them. */
export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

const ORDER: readonly TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

const WORDS: Readonly<Record<string, readonly TlsVersion[]>> = {
  "tlsv1.0": ["TLSv1"],
  "tlsv1.1": ["TLSv1.1"],
  "tlsv1.2": ["TLSv1.2"],
  "tlsv1.3": ["TLSv1.3"],
  "tlsv1": ORDER,
  "all": ORDER,
  "legacy": ORDER,
  "secure": ["TLSv1.2", "TLSv1.3"],
  "default": ["TLSv1.2", "TLSv1.3"],
};

/** The lowest and highest version a protocol list allows. */
export interface TlsVersionRange {
  readonly min: TlsVersion;
  readonly max: TlsVersion;
}

/**
 * Reads a protocol list; a string naming an unknown protocol, or leaving none or a gap
 * (`tlsv1.0,tlsv1.2`: TLS cannot skip a version between its lowest and highest), is an
 * error message.
 *
 * @example
 * ```ts
 * parseTlsProtocols("tlsv1.3"); // { min: "TLSv1.3", max: "TLSv1.3" }
 * parseTlsProtocols("all,!tlsv1.0,!tlsv1.1"); // { min: "TLSv1.2", max: "TLSv1.3" }
 * ```
 */
export function parseTlsProtocols(text: string): TlsVersionRange | { error: string } {
  const allowed = new Set<TlsVersion>();
  for (const raw of text.toLowerCase().split(/[,:]/)) {
    const word = raw.trim();
    if (word === "") continue;
    const negated = word.startsWith("!") || word.startsWith("-");
    const name = negated ? word.slice(1) : word;
    const versions = WORDS[name];
    if (!versions) {
      return {
        error: `Unknown TLS protocol "${raw.trim()}": expected ${Object.keys(WORDS).join(", ")}`,
      };
    }
    for (const v of versions) negated ? allowed.delete(v) : allowed.add(v);
  }
  const kept = ORDER.filter((v) => allowed.has(v));
  if (kept.length === 0) return { error: `The TLS protocols "${text}" allow no version` };
  const min = kept[0]!;
  const max = kept[kept.length - 1]!;
  if (ORDER.indexOf(max) - ORDER.indexOf(min) + 1 !== kept.length) {
    return { error: `The TLS protocols "${text}" leave a gap between ${min} and ${max}` };
  }
  return { min, max };
}

/**
 * What a `ciphers` list gets said of it: Deno's TLS (rustls) negotiates among its own AEAD
 * suites and takes no OpenSSL cipher list, so the word is kept but does nothing.
 */
export const CIPHERS_NOT_APPLIED =
  "ciphers is not applied: the TLS library chooses among its own AEAD suites (protocols does bound the TLS versions)";
