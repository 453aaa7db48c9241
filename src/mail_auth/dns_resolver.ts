// The DNS lookups SPF, DKIM and DMARC checks make, through Deno.resolveDns with the
// daemon's resolver settings, answering as node:dns does (the shape npm:mailauth expects).

/** The daemon's DNS settings (the same as reverse DNS and MX lookups use). */
export interface DnsSettings {
  /** A name server of its own (tests run one on 127.0.0.1); default the system's. */
  readonly nameServer?: { readonly ipAddr: string; readonly port?: number };
  /** How long one query may take, ms (default 10 s). */
  readonly timeoutMs?: number;
}

/** A node:dns style error: `code` says what kind of failure. */
export class DnsLookupError extends Error {
  readonly code: "ENOTFOUND" | "ETIMEOUT" | "ESERVFAIL";
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
 * A resolver for one message's checks. Once a query has timed out, the rest of this
 * message's queries fail at once: a server that is down costs one timeout, not one per
 * lookup, and every result that needed it is a temperror.
 */
export function createMailAuthResolver(settings: DnsSettings = {}): MailAuthResolver {
  const server = settings.nameServer;
  const timeoutMs = settings.timeoutMs ?? 10_000;
  let down: DnsLookupError | undefined;
  return async (name, type) => {
    if (!TYPES.has(type)) throw new DnsLookupError("ESERVFAIL", `DNS type ${type} not supported`);
    if (down) throw down;
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
      // NXDOMAIN and an empty answer are both NotFound here; both are "no record" to SPF/DMARC.
      if (error instanceof Deno.errors.NotFound) {
        throw new DnsLookupError("ENOTFOUND", `${name} ${type}: no record`);
      }
      const timedOut = error instanceof Deno.errors.TimedOut ||
        (error instanceof DOMException && error.name === "TimeoutError");
      const failure = new DnsLookupError(
        timedOut ? "ETIMEOUT" : "ESERVFAIL",
        `${name} ${type}: ${timedOut ? "timed out" : String(error)}`,
      );
      if (timedOut) down = failure;
      throw failure;
    }
  };
}
