// What a server's EHLO (or LHLO) reply offers (RFC 5321 §4.1.1.1): one keyword per line
// after the first, with its parameters. Keywords are case-insensitive.

/** The extensions a server announced, keyword (upper case) → parameters. */
export interface Capabilities {
  readonly extensions: ReadonlyMap<string, readonly string[]>;
  /** SASL mechanisms from `AUTH …` (and the old `AUTH=…` form), upper case. */
  readonly authMechanisms: readonly string[];
  /** RFC 1870 SIZE limit in octets; 0 or undefined when none is announced. */
  readonly maxSize?: number;
  readonly startTls: boolean;
  readonly pipelining: boolean;
  readonly dsn: boolean;
  readonly smtpUtf8: boolean;
  readonly eightBitMime: boolean;
}

/**
 * Reads the extension lines of an EHLO reply (the first line is the server's greeting).
 *
 * @example
 * ```ts
 * import { parseCapabilities } from "./capabilities.ts";
 * parseCapabilities(["mx.example greets you", "SIZE 1000", "AUTH PLAIN LOGIN"]).maxSize; // 1000
 * ```
 */
export function parseCapabilities(lines: readonly string[]): Capabilities {
  const extensions = new Map<string, readonly string[]>();
  const auth = new Set<string>();
  for (const line of lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const params = (m[2] ?? "").split(/\s+/).filter((p) => p !== "");
    extensions.set(keyword, params);
    if (keyword === "AUTH") { for (const p of params) auth.add(p.toUpperCase()); }
  }
  const size = Number(extensions.get("SIZE")?.[0] ?? "");
  return {
    extensions,
    authMechanisms: [...auth],
    ...(Number.isInteger(size) && size > 0 ? { maxSize: size } : {}),
    startTls: extensions.has("STARTTLS"),
    pipelining: extensions.has("PIPELINING"),
    dsn: extensions.has("DSN"),
    smtpUtf8: extensions.has("SMTPUTF8"),
    eightBitMime: extensions.has("8BITMIME"),
  };
}

/** What a server that answered HELO (no extensions) offers. */
export const NO_CAPABILITIES: Capabilities = parseCapabilities([]);
