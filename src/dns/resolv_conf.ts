// The system's name servers, as resolv.conf(5) lists them; the local host's resolver where
// the file names none (its documented default).

const RESOLV_CONF = "/etc/resolv.conf";
let cached: Promise<{ ipAddr: string; port: number }[]> | undefined;

/** The `nameserver` lines of /etc/resolv.conf, read once per process. */
export function systemNameServers(): Promise<{ ipAddr: string; port: number }[]> {
  // A failed read is not kept: the next query tries again.
  cached ??= readNameServers().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function readNameServers(): Promise<{ ipAddr: string; port: number }[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(RESOLV_CONF);
  } catch (error) {
    // No file: the default below. A file that cannot be read is an error, not a reason to
    // ask another resolver than the one the system names.
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(`${RESOLV_CONF}: ${error instanceof Error ? error.message : error}`);
    }
  }
  const servers = parseNameServers(text);
  return servers.length > 0 ? servers : [{ ipAddr: "127.0.0.1", port: 53 }];
}

/**
 * The name servers of a resolv.conf text, in order.
 *
 * @example
 * ```ts
 * import { parseNameServers } from "./resolv_conf.ts";
 * parseNameServers("nameserver 127.0.0.53\noptions edns0\n"); // [{ ipAddr: "127.0.0.53", port: 53 }]
 * ```
 */
export function parseNameServers(text: string): { ipAddr: string; port: number }[] {
  const servers: { ipAddr: string; port: number }[] = [];
  for (const line of text.split("\n")) {
    const [keyword, address] = line.replace(/[#;].*/, "").trim().split(/\s+/);
    // A scoped IPv6 address (fe80::1%eth0) needs the zone the socket API cannot take here.
    if (keyword === "nameserver" && address && !address.includes("%")) {
      servers.push({ ipAddr: address, port: 53 });
    }
  }
  return servers;
}
