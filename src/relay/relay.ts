// Relaying one envelope, as a `relay` action says: to its `host` (a relay URL), else to
// the recipient domain's MX hosts in order of preference. A host that cannot be reached
// (or answers its greeting with an error) passes the envelope to the next one; a reply
// to the recipient itself decides it.

import { type RelayOptions, WELL_KNOWN_PORTS } from "../config/mod.ts";
import { type DeliveryResult, errorMessage, permfail, tempfail } from "../mail/mod.ts";
import { sendOverSmtp } from "./client.ts";
import { type MxOptions, resolveHostAddresses, resolveMx } from "./mx.ts";
import { parseRelayUrl, type RelayTls } from "./url.ts";

/** What relaying needs besides the action. */
export interface RelayContext {
  /** This host's name, for EHLO unless the action sets `helo`. */
  readonly hostname: string;
  readonly dns?: MxOptions;
  /** Extra trusted CA certificates (PEM). */
  readonly caCerts?: readonly string[];
  readonly timeoutMs?: number;
  /** The port MX hosts are reached on (25; tests use another). */
  readonly mxPort?: number;
}

/** Relays one message to one recipient; never throws. */
export async function relayEnvelope(
  options: RelayOptions,
  message: { readonly sender: string; readonly rcpt: string; readonly content: Uint8Array },
  context: RelayContext,
): Promise<DeliveryResult> {
  let routes: { host: string; address?: string; port: number; tls: RelayTls }[];
  if (options.host) {
    let url;
    try {
      url = parseRelayUrl(options.host);
    } catch (error) {
      return permfail(errorMessage(error));
    }
    if (url.protocol !== "smtp") {
      return permfail(`relaying over ${url.protocol} is not supported`);
    }
    routes = [{ host: url.host, port: url.port, tls: tlsFor(url.tls, options) }];
  } else {
    const domain = message.rcpt.slice(message.rcpt.lastIndexOf("@") + 1);
    const mx = await resolveMx(domain, context.dns ?? {});
    if (mx.kind !== "hosts") return mx;
    // Each MX host by its addresses, looked up with the same resolver as the MX records.
    routes = [];
    for (const host of mx.hosts) {
      const addresses = await resolveHostAddresses(host, context.dns ?? {});
      if (addresses.length === 0) {
        routes.push({
          host,
          port: context.mxPort ?? WELL_KNOWN_PORTS.smtp,
          tls: tlsFor("opportunistic", options),
        });
      }
      for (const address of addresses) {
        routes.push({
          host,
          address,
          port: context.mxPort ?? WELL_KNOWN_PORTS.smtp,
          tls: tlsFor("opportunistic", options),
        });
      }
    }
  }
  let last: DeliveryResult = tempfail("no host to relay to");
  for (const route of routes) {
    let tls = route.tls;
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await sendOverSmtp({
        host: route.address ?? route.host,
        servername: route.host,
        port: route.port,
        tls,
        helo: options.helo ?? context.hostname,
        sender: message.sender,
        recipients: [message.rcpt],
        content: message.content,
        ...(context.caCerts ? { caCerts: context.caCerts } : {}),
        ...(context.timeoutMs === undefined ? {} : { timeoutMs: context.timeoutMs }),
      });
      last = outcome.results[0]!;
      if (outcome.retryPlain) {
        tls = "none"; // "opportunistic TLS failed, downgrading to plain"
        continue;
      }
      if (!outcome.connectionFailed) return last;
      break;
    }
  }
  return last;
}

// `relay tls` makes STARTTLS a must; the URL's own protocol may already say so.
function tlsFor(fromUrl: RelayTls, options: RelayOptions): RelayTls {
  if (fromUrl === "opportunistic" && options.tls) return "starttls";
  return fromUrl;
}
