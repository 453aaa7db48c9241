// Relaying one envelope, as a `relay` action says: to its `host` (a relay URL parsed when
// the configuration loaded), else to the recipient domain's MX hosts by preference. A host
// that cannot be reached or set up passes the envelope to the next; an opportunistic
// STARTTLS whose handshake fails is tried again in clear on the same host; a reply to the
// recipient decides it.

import type { Config, RelayOptions } from "../config/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliveryResult, splitAddress, tempfail } from "../mail/mod.ts";
import type { Table } from "../tables/mod.ts";
import { uniformTimeouts } from "../client/mod.ts";
import { relayCredentials, relayTlsFiles } from "./credentials.ts";
import { type MxOptions, resolveHostAddresses, resolveMx } from "./mx.ts";
import { type RelayRoute, RelaySession } from "./session.ts";

/** What relaying needs besides the action. */
export interface RelayContext {
  /** This host's name, for EHLO unless the action sets `helo`. */
  readonly hostname: string;
  readonly dns?: MxOptions;
  /** Bounds every step of a dialogue at once (tests); RFC 5321's values otherwise. */
  readonly timeoutMs?: number;
  /** The port MX hosts are reached on (25; tests use another). */
  readonly mxPort?: number;
  readonly log?: Logger;
  /** The open tables, for `auth <table>`. */
  readonly tables?: ReadonlyMap<string, Table>;
  /** The configuration's `pki` and `ca` declarations, and the directory their paths are relative to. */
  readonly config?: Pick<Config, "pkis" | "cas">;
  readonly baseDir?: string;
}

/** Relays one message to one recipient; never throws. */
export async function relayEnvelope(
  options: RelayOptions,
  message: { readonly sender: string; readonly rcpt: string; readonly content: Uint8Array },
  context: RelayContext,
): Promise<DeliveryResult> {
  const log = context.log ?? SILENT_LOGGER;
  const routes = await routesFor(options, message.rcpt, context);
  if (!Array.isArray(routes)) return routes;
  let last: DeliveryResult = tempfail("4.4.4 no host to relay to");
  for (const route of routes) {
    let current = route;
    for (;;) {
      const opened = await RelaySession.open(current, log);
      if (opened instanceof RelaySession) {
        const [result] = await opened.send({
          sender: message.sender,
          recipients: [message.rcpt],
          content: message.content,
        });
        await opened.close();
        return result ?? tempfail("no result for the recipient");
      }
      last = opened.failure;
      if (opened.final) return last;
      if (!opened.downgrade) break;
      // OpenSMTPD's "opportunistic TLS failed, downgrading to plain": the same host, in clear.
      current = { ...current, security: "none" };
    }
  }
  return last;
}

// The next hops, best first, each with its TLS policy, credentials and HELO name.
async function routesFor(
  options: RelayOptions,
  rcpt: string,
  context: RelayContext,
): Promise<RelayRoute[] | DeliveryResult> {
  const files = await relayTlsFiles(options, context);
  if ("kind" in files) return files;
  const base = {
    helo: options.helo ?? context.hostname,
    ...(Object.keys(files).length > 0 ? { tls: files } : {}),
    ...(context.timeoutMs === undefined ? {} : { timeouts: uniformTimeouts(context.timeoutMs) }),
  };
  // `tls` makes TLS a must and verifies unless `no-verify`; smtp+tls:// and smtps:// verify
  // by default (OpenSMTPD 7.1); opportunistic STARTTLS never requires a verified certificate.
  const verifyRequired = options.tls !== "no-verify";
  const target = options.host;
  if (target) {
    const credentials = relayCredentials(options, context);
    if (credentials && "kind" in credentials) return credentials;
    const security = target.security === "opportunistic" && options.tls
      ? "starttls"
      : target.security;
    const route: RelayRoute = {
      ...base,
      protocol: target.protocol,
      host: target.host,
      port: target.port,
      ...(target.socket ? { socket: target.socket } : {}),
      security,
      verify: security !== "opportunistic" && security !== "none" && verifyRequired,
      ...(credentials ? { credentials } : {}),
    };
    // A resolver of the daemon's own (tests) names the addresses; otherwise the system's,
    // /etc/hosts included, when the connection is made.
    if (!context.dns || target.socket) return [route];
    const addresses = await resolveHostAddresses(target.host, context.dns);
    return addresses.length === 0 ? [route] : addresses.map((address) => ({ ...route, address }));
  }
  const { domain } = splitAddress(rcpt);
  const mx = await resolveMx(domain, context.dns ?? {});
  if (mx.kind !== "hosts") return mx;
  const security = options.tls ? "starttls" : "opportunistic";
  const routes: RelayRoute[] = [];
  for (const host of mx.hosts) {
    const common = {
      ...base,
      protocol: "smtp" as const,
      host,
      port: context.mxPort ?? 25,
      security,
      verify: security === "starttls" && verifyRequired,
    } satisfies RelayRoute;
    // Each MX host by its addresses, looked up with the same resolver as the MX records.
    const addresses = await resolveHostAddresses(host, context.dns ?? {});
    if (addresses.length === 0) routes.push(common);
    for (const address of addresses) routes.push({ ...common, address });
  }
  return routes;
}
