// The DNS lookups SPF, DKIM and DMARC checks make, through Deno.resolveDns with the
// daemon's resolver settings, answering as node:dns does (the shape npm:mailauth expects).

import { organizationalDomain } from "./organizational_domain.ts";
import { queryDns } from "../dns/mod.ts";

/** The daemon's DNS settings (the same as reverse DNS and MX lookups use). */
export interface DnsSettings {
  /** A name server of its own (tests run one on 127.0.0.1); default the system's. */
  readonly nameServer?: { readonly ipAddr: string; readonly port?: number };
  /** How long one query may take, ms (default 10 s). */
  readonly timeoutMs?: number;
}

/** A node:dns style error: `code` says what kind of failure. */
export class DnsLookupError extends Error {
  readonly code: "ENOTFOUND" | "ENODATA" | "ETIMEOUT" | "ESERVFAIL" | "EREFUSED";
  constructor(code: DnsLookupError["code"], message: string) {
    super(message);
    this.name = "DnsLookupError";
    this.code = code;
  }
}

/** `resolve(name, type)` as npm:mailauth calls it. */
export type MailAuthResolver = (name: string, type: string) => Promise<string[] | string[][]>;

const TYPES = new Set(["A", "AAAA", "MX", "TXT", "PTR", "CNAME", "NS"]);

/**
 * A resolver for one message's checks. Once a query about a domain has timed out, this
 * message's other queries about that organizational domain fail at once: a zone that does
 * not answer costs one timeout, not one per lookup. Other domains are still asked, so a
 * sender whose own zone never answers cannot make the From: domain's DMARC record fail.
 */
export function createMailAuthResolver(settings: DnsSettings = {}): MailAuthResolver {
  const server = settings.nameServer;
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const down = new Map<string, DnsLookupError>();
  return async (name, type) => {
    if (!TYPES.has(type)) throw new DnsLookupError("ESERVFAIL", `DNS type ${type} not supported`);
    const zone = organizationalDomain(name);
    const failed = down.get(zone);
    if (failed) throw failed;
    const options = {
      ...(server ? { nameServer: { ipAddr: server.ipAddr, port: server.port ?? 53 } } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    };
    try {
      const records = await Deno.resolveDns(name, type as "TXT", options);
      if (type === "MX") {
        return (records as unknown as { preference: number; exchange: string }[]).map((r) => ({
          priority: r.preference,
          exchange: r.exchange.replace(/\.$/, ""),
        })) as unknown as string[];
      }
      return records as string[] | string[][];
    } catch (error) {
      // Deno says NotFound for NXDOMAIN, an empty answer and SERVFAIL alike: only the rcode
      // tells "no record" from a failure that must be a temperror (RFC 7208 §5, RFC 6376 §6.1.2).
      if (error instanceof Deno.errors.NotFound) throw await notFoundError(name, type, settings);
      const timedOut = error instanceof Deno.errors.TimedOut ||
        (error instanceof DOMException && error.name === "TimeoutError");
      const failure = new DnsLookupError(
        timedOut ? "ETIMEOUT" : "ESERVFAIL",
        `${name} ${type}: ${timedOut ? "timed out" : String(error)}`,
      );
      if (timedOut) down.set(zone, failure);
      throw failure;
    }
  };
}

// Deno's NotFound asked again with our own client, which sees the rcode: NXDOMAIN and
// NOERROR stay "no record" (ENOTFOUND, ENODATA, as node:dns names them), anything else is
// the temporary failure npm:mailauth reports as temperror.
async function notFoundError(
  name: string,
  type: string,
  settings: DnsSettings,
): Promise<DnsLookupError> {
  if (!RCODE_TYPES.has(type)) return new DnsLookupError("ENOTFOUND", `${name} ${type}: no record`);
  let rcode: string;
  try {
    const answer = await queryDns(name, type as "TXT", {
      ...(settings.nameServer ? { nameServer: settings.nameServer } : {}),
      ...(settings.timeoutMs ? { timeoutMs: settings.timeoutMs } : {}),
    });
    rcode = answer.rcode;
  } catch (error) {
    return new DnsLookupError("ESERVFAIL", `${name} ${type}: ${String(error)}`);
  }
  if (rcode === "NXDOMAIN") return new DnsLookupError("ENOTFOUND", `${name} ${type}: no such name`);
  if (rcode === "NOERROR") return new DnsLookupError("ENODATA", `${name} ${type}: no record`);
  return new DnsLookupError(
    rcode === "REFUSED" ? "EREFUSED" : "ESERVFAIL",
    `${name} ${type}: ${rcode}`,
  );
}

// The types our own client asks for (PTR and NS are left to Deno's NotFound).
const RCODE_TYPES = new Set(["A", "AAAA", "MX", "TXT", "CNAME"]);
