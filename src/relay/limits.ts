// What `mta limit` and `mta rate` mean for one route: the counts its session adds to in the
// pool (OpenSMTPD's max-conn-per-host/route/source/connector/relay/domain), how long it
// lives, which addresses it may dial, and the paces it goes at.

import type { ConnectionScope, MtaLimits, Rate } from "../config/mod.ts";
import { isIP } from "node:net";
import type { LeaseRequest } from "./pool.ts";
import type { RelayRoute } from "./session.ts";

/**
 * Connections open at once by scope when nothing is configured. Route and host stay at
 * Postfix's 20 per destination rather than OpenSMTPD's 5 and 10, so one smarthost gets the
 * parallel sessions it can take; the connector (a destination from one source address)
 * is OpenSMTPD's 20, the rest OpenSMTPD's 100.
 */
export const DEFAULT_MAX_CONN: Readonly<Record<ConnectionScope, number>> = Object.freeze({
  route: 20,
  host: 20,
  connector: 20,
  source: 100,
  relay: 100,
  domain: 100,
});

/** The pool request of a route: its sharing key and the scopes it counts in. */
export function leaseRequestFor(
  route: RelayRoute,
  options: { readonly relay: string; readonly destination: string; readonly limits: MtaLimits },
): LeaseRequest {
  const { limits, relay, destination } = options;
  const max = { ...DEFAULT_MAX_CONN, ...limits.maxConn };
  const host = `${route.socket ?? route.address ?? route.host.toLowerCase()}:${route.port}`;
  const source = route.localAddress ?? "*";
  const routeKey = JSON.stringify([
    route.protocol,
    route.host,
    route.address,
    route.socket,
    route.port,
    route.security,
    route.verify,
    // DANE and MTA-STS checks are part of what a shared session was set up under.
    route.tlsPolicy && [route.tlsPolicy.level, route.tlsPolicy.why, route.tlsPolicy.testing],
    route.helo,
    route.localAddress,
    route.credentials?.user,
    route.credentials?.password,
  ]);
  const scope = (name: ConnectionScope, key: string) => ({
    key: `${name} ${key}`,
    limit: max[name],
  });
  return {
    // A session serves one relay (action and destination), as OpenSMTPD's mta relays do.
    key: `${relay} ${routeKey}`,
    scopes: [
      scope("route", `${source} ${host}`),
      scope("host", host),
      scope("source", source),
      scope("connector", `${relay} ${source}`),
      scope("relay", relay),
      scope("domain", destination),
    ],
    ...(limits.sessionMailMax === undefined
      ? {}
      : { transactionsPerSession: limits.sessionMailMax }),
    ...(limits.sessionKeepalive === undefined ? {} : { idleMs: limits.sessionKeepalive * 1000 }),
  };
}

/** The addresses of the configured family (`inet4`/`inet6`); all without one. */
export function addressesOfFamily(addresses: readonly string[], limits: MtaLimits): string[] {
  if (!limits.family) return [...addresses];
  const family = limits.family === "inet4" ? 4 : 6;
  return addresses.filter((a) => isIP(a) === family);
}

/** The connection pace: `mta rate … connections`, or `conn-delay-*` as one per N seconds. */
export function connectionRate(limits: MtaLimits): Rate | undefined {
  const delay = limits.connDelay ? { count: 1, seconds: limits.connDelay } : undefined;
  const rate = limits.connRate;
  if (!rate || !delay) return rate ?? delay;
  return rate.count / rate.seconds <= delay.count / delay.seconds ? rate : delay;
}

/** "5 mails per 1m", for log lines and the reason held-back mail gives. */
export function describeRate(rate: Rate, what: string): string {
  const window = rate.seconds % 60 === 0 ? `${rate.seconds / 60}m` : `${rate.seconds}s`;
  return `${rate.count} ${what} per ${window}`;
}

let rotation = 0;

/** `src`: an address of the destination's family, taken in turn so every one is used. */
export function pickSource(
  sources: readonly string[],
  destination: string | undefined,
): string | undefined {
  const v6 = destination !== undefined && isIP(destination) === 6;
  const usable = sources.filter((s) => isIP(s) === (v6 ? 6 : 4));
  if (usable.length === 0) return undefined;
  return usable[rotation++ % usable.length];
}
