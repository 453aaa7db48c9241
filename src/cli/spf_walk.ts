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
  const deeper = { ...w, depth: w.depth + 1 };
  for (const record of records) {
    for (const term of record.split(/\s+/).slice(1)) {
      // What the walk lists is what the record allows: a fail (-) or softfail (~) term names
      // senders it does not, and is skipped, as OpenSMTPD's spfwalk does; neutral (?) and
      // pass (+) terms are walked, as there.
      if (term.startsWith("-") || term.startsWith("~")) continue;
      const mechanism = term.replace(/^[+?]/, "");
      const [name = "", rawArg] = mechanism.split(/[:=](.*)/s, 2);
      const arg = rawArg === undefined ? undefined : rawArg.replace(/\/\d+$/, "");
      const cidr = rawArg?.match(/\/\d+$/)?.[0] ?? "";
      if (arg?.includes("%")) continue; // a macro: only a connection can expand it
      switch (name.toLowerCase()) {
        case "ip4":
        case "ip6":
          if (rawArg) w.print(rawArg);
          break;
        case "a":
          for (const type of ["A", "AAAA"] as const) {
            for (const ip of await w.resolve(arg ?? domain, type)) w.print(`${ip}${cidr}`);
          }
          break;
        case "mx":
          for (const host of await w.resolve(arg ?? domain, "MX")) {
            for (const type of ["A", "AAAA"] as const) {
              for (const ip of await w.resolve(host, type)) w.print(`${ip}${cidr}`);
            }
          }
          break;
        case "include":
        case "redirect":
          if (arg) await walk(arg.toLowerCase(), deeper);
          break;
      }
    }
  }
}
