// What the relay knows of the outside world while it runs, as OpenSMTPD's mta.c keeps it:
// relays (where an action sends), routes (source to host), hosts (addresses with their
// names), their connections and errors, and per domain the status of its last delivery.
// Relaying tells it what happens; smtpctl's show hosts/hoststats/relays/routes read it.

import type { RelayOptions, RelaySecurity } from "../config/mod.ts";
import { durationText } from "../log/mod.ts";
import { type DeliveryResult, splitAddress } from "../mail/mod.ts";
import { isIP } from "node:net";
import type { RelayRoute, RelaySession } from "./session.ts";

/** mta.c's HOSTSTAT_EXPIRE_DELAY: a domain's last status is kept four hours. */
export const HOSTSTAT_KEEP_MS = 4 * 3600 * 1000;

/** One next hop as the book sees it. */
export interface BookedRoute {
  /** `[relay:…]`: the relay (smarthost or recipient domain) the route serves. */
  readonly relay: string;
  /** The host's name (the smarthost or MX name). */
  readonly host: string;
  /** The address dialled (`127.0.0.1`, `[::1]`), or the name when the system resolves it. */
  readonly address: string;
  /** The local address connections come from (`src`), when one is chosen. */
  readonly source?: string;
}

/** A known host: `show hosts`. */
export interface HostEntry {
  readonly address: string;
  readonly name: string;
  /** Routes that lead to it. */
  readonly refcount: number;
  readonly nconn: number;
  /** Unix ms of its last connection; undefined when none was made yet. */
  readonly lastConnection?: number;
}

/** A route: `show routes`. */
export interface RouteEntry {
  readonly id: number;
  readonly source: string;
  readonly destination: string;
  /** No session was established on it yet (flag N). */
  readonly isNew: boolean;
  readonly nconn: number;
  readonly nerror: number;
  /** The last error seen on it. */
  readonly lastError?: string;
}

/** A relay: `show relays`. */
export interface RelayEntry {
  readonly relay: string;
  /** Routes it has used. */
  readonly refcount: number;
  /** Transactions under way or waiting for a connection. */
  readonly ntask: number;
  readonly nconn: number;
  readonly lastConnection?: number;
  /** Its connectors: one per source address (`[]` for the system's choice). */
  readonly connectors: readonly {
    readonly source: string;
    readonly refcount: number;
    readonly nconn: number;
    readonly lastConnection?: number;
  }[];
}

/** A domain's last delivery: `show hoststats`. */
export interface HoststatEntry {
  readonly domain: string;
  /** Unix seconds. */
  readonly time: number;
  readonly status: string;
}

interface Route {
  readonly id: number;
  readonly booked: BookedRoute;
  nconn: number;
  nerror: number;
  established: boolean;
  lastConnection?: number;
  lastError?: string;
}

interface Task {
  relay: string;
  ntask: number;
}

/** The relay's state; one for the daemon, shared by every configuration it loads. */
export class RelayBook {
  readonly #routes = new Map<string, Route>();
  readonly #tasks = new Map<string, Task>();
  readonly #hoststats = new Map<string, { time: number; status: string }>();
  readonly #now: () => number;
  #nextRoute = 1;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A transaction for `relay` starts; the function returned ends it. */
  beginTask(relay: string): () => void {
    const task = this.#tasks.get(relay) ?? { relay, ntask: 0 };
    task.ntask++;
    this.#tasks.set(relay, task);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      task.ntask--;
    };
  }

  /** A session was set up on `route`; it counts until `closed` settles. */
  connected(route: BookedRoute, closed: Promise<unknown>): void {
    const entry = this.#route(route);
    entry.nconn++;
    entry.established = true;
    entry.lastConnection = this.#now();
    void closed.finally(() => entry.nconn--);
  }

  /** A session could not be set up on `route`. */
  failed(route: BookedRoute, reason: string): void {
    const entry = this.#route(route);
    entry.nerror++;
    entry.lastError = reason;
  }

  /** The results of a transaction: each recipient's domain keeps its last status. */
  delivered(recipients: readonly string[], results: readonly DeliveryResult[]): void {
    const time = Math.floor(this.#now() / 1000);
    for (const [i, rcpt] of recipients.entries()) {
      const result = results[i];
      const domain = splitAddress(rcpt).domain.toLowerCase();
      if (!result || !domain) continue;
      const status = result.kind === "ok" ? result.hop?.reply ?? "Ok" : result.reason;
      this.#hoststats.set(domain, { time, status });
    }
  }

  /** `show hosts`: every address a route leads to. */
  hosts(): HostEntry[] {
    const hosts = new Map<string, HostEntry & { nconn: number; refcount: number }>();
    for (const r of this.#routes.values()) {
      const key = `${r.booked.address} ${r.booked.host}`;
      const host = hosts.get(key) ??
        { address: r.booked.address, name: r.booked.host, refcount: 0, nconn: 0 };
      const last = Math.max(host.lastConnection ?? 0, r.lastConnection ?? 0);
      hosts.set(key, {
        ...host,
        refcount: host.refcount + 1,
        nconn: host.nconn + r.nconn,
        ...(last > 0 ? { lastConnection: last } : {}),
      });
    }
    return [...hosts.values()].sort((a, b) => a.address < b.address ? -1 : 1);
  }

  /** `show routes`: source to host, with connections and errors. */
  routes(): RouteEntry[] {
    return [...this.#routes.values()].map((r) => ({
      id: r.id,
      source: r.booked.source ?? "[]",
      destination: hostText(r.booked),
      isNew: !r.established,
      nconn: r.nconn,
      nerror: r.nerror,
      ...(r.lastError === undefined ? {} : { lastError: r.lastError }),
    }));
  }

  /** `show relays`: each relay with its connectors (one per source address). */
  relays(): RelayEntry[] {
    const names = new Set([
      ...this.#tasks.keys(),
      ...[...this.#routes.values()].map((r) => r.booked.relay),
    ]);
    return [...names].sort().map((relay) => {
      const routes = [...this.#routes.values()].filter((r) => r.booked.relay === relay);
      const connectors = new Map<
        string,
        { source: string; refcount: number; nconn: number; lastConnection?: number }
      >();
      for (const r of routes) {
        const source = r.booked.source ?? "[]";
        const c = connectors.get(source) ?? { source, refcount: 0, nconn: 0 };
        const last = Math.max(c.lastConnection ?? 0, r.lastConnection ?? 0);
        connectors.set(source, {
          source,
          refcount: c.refcount + 1,
          nconn: c.nconn + r.nconn,
          ...(last > 0 ? { lastConnection: last } : {}),
        });
      }
      const last = Math.max(0, ...routes.map((r) => r.lastConnection ?? 0));
      return {
        relay,
        refcount: routes.length,
        ntask: this.#tasks.get(relay)?.ntask ?? 0,
        nconn: routes.reduce((n, r) => n + r.nconn, 0),
        ...(last > 0 ? { lastConnection: last } : {}),
        connectors: [...connectors.values()],
      };
    });
  }

  /** `show hoststats`: domains delivered to in the last four hours, by name (mta.c's dict). */
  hoststats(): HoststatEntry[] {
    const oldest = (this.#now() - HOSTSTAT_KEEP_MS) / 1000;
    for (const [domain, stat] of this.#hoststats) {
      if (stat.time < oldest) this.#hoststats.delete(domain);
    }
    return [...this.#hoststats].sort(([a], [b]) => a < b ? -1 : 1)
      .map(([domain, s]) => ({ domain, time: s.time, status: s.status }));
  }

  #route(booked: BookedRoute): Route {
    const key = JSON.stringify([booked.relay, booked.source, booked.address, booked.host]);
    let entry = this.#routes.get(key);
    if (!entry) {
      entry = { id: this.#nextRoute++, booked, nconn: 0, nerror: 0, established: false };
      this.#routes.set(key, entry);
    }
    return entry;
  }
}

/** mta.c's mta_host_to_text: `ADDRESS (NAME)`, or the address alone when it is the name. */
export function hostText(route: Pick<BookedRoute, "address" | "host">): string {
  return route.address === route.host ? route.address : `${route.address} (${route.host})`;
}

/** The lines OpenSMTPD's smtpctl prints for `show hosts` (mta.c). */
export function formatHosts(hosts: readonly HostEntry[], now: number): string[] {
  return hosts.map((h) =>
    `${h.address} ${h.name} refcount=${h.refcount} nconn=${h.nconn} lastconn=${since(h, now)}`
  );
}

/** `show routes`: `ID. SOURCE <-> HOST FLAGS nconn=… nerror=… penalty=… timeout=…`. */
export function formatRoutes(routes: readonly RouteEntry[]): string[] {
  return routes.map((r) =>
    `${r.id}. ${r.source} <-> ${r.destination} ${r.isNew ? "N" : "-"}--- ` +
    `nconn=${r.nconn} nerror=${r.nerror} penalty=0 timeout=-`
  );
}

/** `show relays`: a relay's line, then one indented line per connector. */
export function formatRelays(relays: readonly RelayEntry[], now: number): string[] {
  return relays.flatMap((r) => [
    `${r.relay} refcount=${r.refcount} ntask=${r.ntask} nconn=${r.nconn} ` +
    `lastconn=${since(r, now)} timeout=- wait=`,
    ...r.connectors.map((c) =>
      `  connector ${c.source} refcount=${c.refcount} nconn=${c.nconn} ` +
      `lastconn=${since(c, now)} timeout=- flags=`
    ),
  ]);
}

/** `show hoststats`: `DOMAIN|UNIX-TIME|STATUS`. */
export function formatHoststats(stats: readonly HoststatEntry[]): string[] {
  return stats.map((s) => `${s.domain}|${s.time}|${s.status}`);
}

function since(entry: { readonly lastConnection?: number }, now: number): string {
  return entry.lastConnection === undefined
    ? "-"
    : durationText((now - entry.lastConnection) / 1000);
}

const SCHEMES: Readonly<Record<RelaySecurity, string>> = {
  opportunistic: "smtp",
  starttls: "smtp+tls",
  smtps: "smtps",
  none: "smtp+notls",
};

/**
 * mta.c's mta_relay_to_text: `[relay:DOMAIN,port=N,SCHEME,auth=TABLE:LABEL,pki_name=P,mx,…]`,
 * naming a relay by its smarthost (or the recipient domain it looks up the MX hosts of).
 */
export function relayName(
  options: RelayOptions,
  route: { readonly protocol: "smtp" | "lmtp"; readonly security: RelaySecurity },
  domain: string,
): string {
  const target = options.host;
  const parts = [
    `relay:${target?.socket ?? target?.host ?? domain}`,
    ...(target && !target.socket ? [`port=${target.port}`] : []),
    route.protocol === "lmtp" ? "lmtp" : SCHEMES[route.security],
    ...(options.auth && target?.label ? [`auth=${options.auth.name}:${target.label}`] : []),
    ...(options.pki ? [`pki_name=${options.pki}`] : []),
    ...(target ? ["mx"] : []),
    ...(options.backup ? [`backup=${options.backup.mx ?? ""}`] : []),
    ...(options.src ? [`sourcetable=${options.src.name}`] : []),
    ...(options.heloSrc ? [`helotable=${options.heloSrc.name}`] : []),
    ...(options.helo ? [`heloname=${options.helo}`] : []),
  ];
  return `[${parts.join(",")}]`;
}

/** What one batch tells the book: the routes it tried, and how it ended. */
export interface RelayTally {
  /** A session could not be set up on the route. */
  failed(route: RelayRoute, reason: string): void;
  /** A session was set up on the route. */
  connected(route: RelayRoute, session: RelaySession): void;
  /** The batch's results, each with the host it came from (or the relay's name). */
  done(
    recipients: readonly string[],
    results: DeliveryResult[] | DeliveryResult,
  ): DeliveryResult[] | DeliveryResult;
  /** The task is over (called once, however the batch ended). */
  end(): void;
}

/**
 * A result no host gave (no host reached, or no route at all: a domain that does not exist)
 * names the relay's domain or smarthost, as OpenSMTPD's mta_flush logs it. One held back
 * by a rate limit was not tried: it names no host.
 */
export function withRelayNamed(
  options: RelayOptions,
  rcpt: string,
  result: DeliveryResult,
): DeliveryResult {
  if (result.hop) return result;
  if (result.kind === "tempfail" && result.notBefore !== undefined) return result;
  const domain = splitAddress(rcpt).domain.toLowerCase();
  return { ...result, hop: { relay: options.host?.host ?? domain } };
}

/** Starts a task of the relay the batch goes to, and reports what it does to `book`. */
export function tallyRelay(
  book: RelayBook | undefined,
  options: RelayOptions,
  rcpt: string,
  routes: readonly RelayRoute[],
): RelayTally {
  const domain = splitAddress(rcpt).domain.toLowerCase();
  const first = routes[0];
  const name = (route: RelayRoute) => relayName(options, route, domain);
  const booked = (route: RelayRoute, session?: RelaySession): BookedRoute => {
    // A route's source is the one `src` chose, not whatever address the system gave.
    const address = route.socket ?? route.address ?? session?.peerAddress ?? route.host;
    return {
      relay: name(route),
      host: route.host,
      address: isIP(address) === 6 ? `[${address}]` : address,
      ...(route.localAddress ? { source: route.localAddress } : {}),
    };
  };
  const end = book && first ? book.beginTask(name(first)) : () => {};
  return {
    failed: (route, reason) => book?.failed(booked(route), reason),
    connected: (route, session) => book?.connected(booked(route, session), session.closed),
    done: (recipients, results) => {
      if (Array.isArray(results)) {
        book?.delivered(recipients, results);
        return results;
      }
      return withRelayNamed(options, rcpt, results);
    },
    end,
  };
}
