// Relay URLs as smtpd.conf(5) writes them: `[proto://[label@]]host[:port]`, with proto
// smtp (opportunistic STARTTLS, port 25), smtp+tls (STARTTLS required), smtp+notls,
// smtps (TLS from the start, port 465) and lmtp (port required). Hosts may be `[IPv6]`.

import { WELL_KNOWN_PORTS } from "../config/mod.ts";

/** How the connection to a relay is secured. */
export type RelayTls = "opportunistic" | "starttls" | "none" | "smtps";

/** A parsed relay URL. */
export interface RelayUrl {
  readonly protocol: "smtp" | "lmtp";
  readonly tls: RelayTls;
  readonly host: string;
  readonly port: number;
  /** The credentials label (`label@host`), for AUTH. */
  readonly label?: string;
}

const URL_REGEXP = /^(?:([a-z+]+):\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i;

/** Parses a relay URL; throws with a clear message when it is not one. */
export function parseRelayUrl(text: string): RelayUrl {
  const m = URL_REGEXP.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a relay URL`);
  const [, rawProto, label, rawHost, rawPort] = m;
  const proto = (rawProto ?? "smtp").toLowerCase();
  const host = rawHost!.replace(/^\[(.*)\]$/, "$1");
  const settings: Record<string, { protocol: "smtp" | "lmtp"; tls: RelayTls; port?: number }> = {
    smtp: { protocol: "smtp", tls: "opportunistic", port: WELL_KNOWN_PORTS.smtp },
    "smtp+tls": { protocol: "smtp", tls: "starttls", port: WELL_KNOWN_PORTS.smtp },
    "smtp+notls": { protocol: "smtp", tls: "none", port: WELL_KNOWN_PORTS.smtp },
    smtps: { protocol: "smtp", tls: "smtps", port: WELL_KNOWN_PORTS.smtps },
    lmtp: { protocol: "lmtp", tls: "none" },
  };
  const chosen = settings[proto];
  if (!chosen) throw new Error(`Unknown relay protocol "${proto}" in "${text}"`);
  const port = rawPort === undefined ? chosen.port : Number(rawPort);
  if (port === undefined) throw new Error(`A port is required in "${text}"`);
  return {
    protocol: chosen.protocol,
    tls: chosen.tls,
    host,
    port,
    ...(label === undefined ? {} : { label }),
  };
}
