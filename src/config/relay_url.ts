// Relay URLs as smtpd.conf(5) writes them, `[proto://[label@]]host[:port]`, parsed once
// when the configuration loads: everything after reads the RelayTarget, never the text.
// One table of schemes, as OpenSMTPD's to.c has, legacy aliases included.

import { WELL_KNOWN_PORTS } from "./defaults.ts";
import type { RelaySecurity, RelayTarget } from "./model.ts";

interface Scheme {
  readonly protocol: "smtp" | "lmtp";
  readonly security: RelaySecurity;
  /** Undefined: a port (or a socket path) must be given. */
  readonly port?: number;
}

/** Every scheme a relay URL may name. */
export const RELAY_SCHEMES: Readonly<Record<string, Scheme>> = {
  // STARTTLS when offered (no verification), plain text otherwise.
  smtp: { protocol: "smtp", security: "opportunistic", port: WELL_KNOWN_PORTS.smtp },
  // STARTTLS required, certificate verified unless `tls no-verify`.
  "smtp+tls": { protocol: "smtp", security: "starttls", port: WELL_KNOWN_PORTS.smtp },
  "smtp+notls": { protocol: "smtp", security: "none", port: WELL_KNOWN_PORTS.smtp },
  // TLS from the first byte (RFC 8314), verified unless `tls no-verify`.
  smtps: { protocol: "smtp", security: "smtps", port: WELL_KNOWN_PORTS.smtps },
  lmtp: { protocol: "lmtp", security: "none" },
  // Older spellings: tls:// was STARTTLS required; ssl:// and secure:// TLS from the start.
  tls: { protocol: "smtp", security: "starttls", port: WELL_KNOWN_PORTS.smtp },
  ssl: { protocol: "smtp", security: "smtps", port: WELL_KNOWN_PORTS.smtps },
  secure: { protocol: "smtp", security: "smtps", port: WELL_KNOWN_PORTS.smtps },
};

const URL_REGEXP =
  /^(?:([A-Za-z][A-Za-z0-9+]*):\/\/)?(?:([^@/\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/;

/**
 * Parses a relay URL; a string saying what is wrong when it is not one.
 *
 * @example
 * ```ts
 * import { parseRelayTarget } from "./relay_url.ts";
 * const target = parseRelayTarget("smtps://me@[2001:db8::1]");
 * // { url, protocol: "smtp", security: "smtps", label: "me", host: "2001:db8::1", port: 465 }
 * ```
 */
export function parseRelayTarget(text: string): RelayTarget | string {
  // lmtp:///path/to/socket: a unix socket.
  const socket = /^lmtp:\/\/(\/\S+)$/i.exec(text);
  if (socket) {
    return {
      url: text,
      protocol: "lmtp",
      security: "none",
      host: "localhost",
      port: 0,
      socket: socket[1]!,
    };
  }
  const m = URL_REGEXP.exec(text);
  if (!m) return `Bad relay URL "${text}": expected [proto://][label@]host[:port]`;
  const [, rawScheme, label, rawHost, rawPort] = m;
  // Schemes are case-insensitive (to.c compares them with strncasecmp).
  const scheme = RELAY_SCHEMES[rawScheme?.toLowerCase() ?? "smtp"];
  if (!scheme) {
    return `Unknown protocol "${rawScheme}" in relay URL "${text}": expected one of ${
      Object.keys(RELAY_SCHEMES).map((s) => `${s}://`).join(", ")
    }`;
  }
  const port = rawPort === undefined ? scheme.port : Number(rawPort);
  if (port === undefined) {
    return `An lmtp relay URL needs a port or a socket path: "${text}"`;
  }
  if (port < 1 || port > 65535) return `Bad port ${rawPort} in relay URL "${text}"`;
  const host = rawHost!.startsWith("[") ? rawHost!.slice(1, -1) : rawHost!;
  return {
    url: text,
    protocol: scheme.protocol,
    security: scheme.security,
    ...(label === undefined ? {} : { label }),
    host,
    port,
  };
}
