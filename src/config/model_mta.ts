// The outbound limits of the model: OpenSMTPD's `mta limit` keys that have an effect here
// (connections per host, route, source, connector, relay and domain, mails per session,
// idle time, address family) and `mta rate` (ours): mails and connections per time window.

import type { SourcePosition } from "./errors.ts";

/** Connection counts `mta limit` bounds, by what they count (OpenSMTPD's limit.c keys). */
export type ConnectionScope = "host" | "route" | "source" | "connector" | "relay" | "domain";

/** At most `count` in any `seconds` (a window moving with time). */
export interface Rate {
  readonly count: number;
  readonly seconds: number;
}

/** One destination's limits; what is unset takes the default's, then the built-in value. */
export interface MtaLimits {
  /** `max-conn-per-SCOPE N`: sessions open at once in that scope. */
  readonly maxConn?: Readonly<Partial<Record<ConnectionScope, number>>>;
  /** `session-mail-max N`: messages one session carries before it is closed. */
  readonly sessionMailMax?: number;
  /** `session-keepalive N`: seconds a finished session waits for more mail. */
  readonly sessionKeepalive?: number;
  /** `inet4` / `inet6`: only addresses of that family are connected to. */
  readonly family?: "inet4" | "inet6";
  /** `conn-delay-domain N`, `conn-delay-relay N`: seconds between two new sessions. */
  readonly connDelay?: number;
  /** `mta rate … N mails per D` (ours): messages sent in any window of D. */
  readonly mailRate?: Rate;
  /** `mta rate … N connections per D` (ours): sessions opened in any window of D. */
  readonly connRate?: Rate;
  /** Keys accepted without effect (warned about), kept so the printer writes them back. */
  readonly withoutEffect?: readonly { readonly key: string; readonly value: number }[];
}

/** `mta limit` and `mta rate` statements: the default and the ones `for domain D`. */
export interface MtaLimitSet {
  readonly default: MtaLimits;
  /** By lower-case domain (the recipient domain, or the relay host's name). */
  readonly domains: ReadonlyMap<string, MtaLimits>;
  /** Where the statements stand, for messages. */
  readonly positions?: readonly SourcePosition[];
}

/** A destination's limits: its own keys over the default's. */
export function limitsFor(set: MtaLimitSet | undefined, domain: string): MtaLimits {
  if (!set) return {};
  const own = set.domains.get(domain.toLowerCase().replace(/\.$/, ""));
  if (!own) return set.default;
  const maxConn = { ...set.default.maxConn, ...own.maxConn };
  return { ...set.default, ...own, ...(Object.keys(maxConn).length > 0 ? { maxConn } : {}) };
}
