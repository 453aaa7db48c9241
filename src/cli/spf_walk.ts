// `smtpctl spf walk`: for each domain read from standard input, its SPF record (RFC 7208)
// followed through include: and redirect=, printing every address and network it allows
// (its + and ? terms), one a line, each once. Macros (RFC 7208 §7) need a connection to expand: they are
// skipped, as OpenSMTPD's spfwalk skips them.

import { errorMessage, EX } from "../mail/mod.ts";

// RFC 7208 §4.6.4: at most 10 lookups that cause DNS queries; a loop stops there too.
const MAX_DEPTH = 10;

type Resolve = (name: string, type: "TXT" | "A" | "AAAA" | "MX") => Promise<string[]>;

// SMTPCTL_NAMESERVER=IP:PORT asks that server instead of the system's (tests use it).
function resolver(): Resolve {
  const server = Deno.env.get("SMTPCTL_NAMESERVER");
  const [ipAddr = "", port = "53"] = server?.split(/:(?=\d+$)/) ?? [];
  const options = server ? { nameServer: { ipAddr, port: Number(port) } } : {};
  return async (name, type) => {
    try {
      if (type === "TXT") {
        return (await Deno.resolveDns(name, "TXT", options)).map((parts) => parts.join(""));
      }
      if (type === "MX") {
        return (await Deno.resolveDns(name, "MX", options)).map((mx) => mx.exchange);
      }
      return await Deno.resolveDns(name, type, options);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
  };
}

/** Walks the SPF records of the domains on standard input; prints what they allow. */
export async function runSpfWalk(): Promise<number> {
  const text = await new Response(Deno.stdin.readable).text();
  const resolve = resolver();
  const seen = new Set<string>();
  const print = (entry: string) => {
    if (seen.has(entry)) return;
    seen.add(entry);
    console.log(entry);
  };
  let failures = 0;
  for (const domain of text.split(/\s+/).filter((d) => d !== "")) {
    try {
      await walk(domain.toLowerCase(), { resolve, print, depth: 0 });
    } catch (error) {
      console.error(`smtpctl: spf walk ${domain}: ${errorMessage(error)}`);
      failures++;
    }
  }
  return failures > 0 ? EX.FAILURE : EX.OK;
}

interface Walk {
  readonly resolve: Resolve;
  readonly print: (entry: string) => void;
  readonly depth: number;
}

async function walk(domain: string, w: Walk): Promise<void> {
  if (w.depth > MAX_DEPTH) return;
  const records = (await w.resolve(domain, "TXT")).filter((r) => /^v=spf1(\s|$)/i.test(r));
  for (const record of records) {
    for (const term of record.split(/\s+/).slice(1)) {
      // What the walk lists is what the record allows: a fail (-) or softfail (~) term names
      // senders it does not, and is skipped, as OpenSMTPD's spfwalk does; neutral (?) and
      // pass (+) terms are walked, as there.
      if (term === "" || term.startsWith("-") || term.startsWith("~")) continue;
      try {
        await walkTerm(term.replace(/^[+?]/, ""), domain, w);
      } catch (error) {
        // One term that cannot be read or looked up does not hide what the others allow.
        console.error(
          `smtpctl: spf walk ${domain}: term "${term}" skipped: ${errorMessage(error)}`,
        );
      }
    }
  }
}

// RFC 7208 §5.6: a: and mx: take a domain-spec, then a dual-cidr-length: "/N" for the A
// records, "//N" for the AAAA ones, either or both.
const TARGET_REGEXP = /^([^/]*)(?:\/(\d+))?(?:\/\/(\d+))?$/;

/** A domain and the prefix lengths to print its addresses with ("" for none). */
interface Target {
  readonly domain: string;
  readonly cidr4: string;
  readonly cidr6: string;
}

function parseTarget(arg: string, fallback: string): Target {
  const found = TARGET_REGEXP.exec(arg);
  if (!found) throw new Error("bad CIDR length");
  const [, name = "", v4, v6] = found;
  if ((v4 !== undefined && Number(v4) > 32) || (v6 !== undefined && Number(v6) > 128)) {
    throw new Error("bad CIDR length");
  }
  return {
    domain: name === "" ? fallback : name,
    cidr4: v4 === undefined ? "" : `/${v4}`,
    cidr6: v6 === undefined ? "" : `/${v6}`,
  };
}

async function walkTerm(mechanism: string, domain: string, w: Walk): Promise<void> {
  // The name, then what follows ":" or "=" (include:x, redirect=x) or the CIDR part (a/24).
  const [, rawName = "", separator = "", rest = ""] =
    /^([a-z0-9]+)([:=]?)(.*)$/is.exec(mechanism) ??
      [];
  const name = rawName.toLowerCase();
  if (rest.includes("%")) return; // a macro: only a connection can expand it
  if (name === "ip4" || name === "ip6") {
    if (separator === ":" && rest !== "") w.print(rest);
    return;
  }
  if (name === "a" || name === "mx") {
    if (separator === "=") return;
    const target = parseTarget(rest, domain);
    const hosts = name === "a" ? [target.domain] : await w.resolve(target.domain, "MX");
    for (const host of hosts) await printAddresses(host, target, w);
    return;
  }
  if ((name === "include" && separator === ":") || (name === "redirect" && separator === "=")) {
    if (rest !== "") await walk(rest.toLowerCase(), { ...w, depth: w.depth + 1 });
  }
}

async function printAddresses(host: string, target: Target, w: Walk): Promise<void> {
  for (const ip of await w.resolve(host, "A")) w.print(`${ip}${target.cidr4}`);
  for (const ip of await w.resolve(host, "AAAA")) w.print(`${ip}${target.cidr6}`);
}
