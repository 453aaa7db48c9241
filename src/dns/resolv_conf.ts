// The system's resolver settings, as resolv.conf(5) gives them: the name servers (the local
// host's resolver where the file names none), and the timeout, attempts and rotate options.
// The file is read again when it changes, as glibc and Deno.resolveDns do.

/** A name server to ask. */
export interface ResolverServer {
  readonly ipAddr: string;
  readonly port: number;
}

/** How the stub resolver asks: whom, how long it waits, how many rounds. */
export interface ResolverSettings {
  readonly servers: readonly ResolverServer[];
  /** Per query sent (resolv.conf `timeout:`, 5 s by default, at most 30). */
  readonly timeoutMs: number;
  /** Rounds over the servers (`attempts:`, 2 by default, at most 5). */
  readonly attempts: number;
  /** `rotate`: each query starts at the next server, to share the load. */
  readonly rotate: boolean;
}

const RESOLV_CONF = "/etc/resolv.conf";
const LOCAL_RESOLVER: ResolverServer = { ipAddr: "127.0.0.1", port: 53 };

// What a file said, and how to tell it has changed since (glibc's file_change_detection).
interface Reading {
  readonly identity: string;
  readonly settings: Promise<ResolverSettings>;
}
const readings = new Map<string, Reading>();

/**
 * The settings of /etc/resolv.conf (or `path`). Each call looks at the file's size, inode
 * and times, a stat() no dearer than glibc's before each query, and reads it again only
 * when they have changed.
 */
export async function systemResolver(path = RESOLV_CONF): Promise<ResolverSettings> {
  let identity = "absent";
  try {
    const info = await Deno.stat(path);
    identity = [info.ino, info.size, info.mtime?.getTime(), info.ctime?.getTime()].join(" ");
  } catch (error) {
    // No file: the defaults. A file that cannot be read is an error, not a reason to ask
    // another resolver than the one the system names.
    if (!(error instanceof Deno.errors.NotFound)) throw unreadable(path, error);
  }
  const known = readings.get(path);
  if (known?.identity === identity) return await known.settings;
  const settings = readResolvConf(path, identity);
  readings.set(path, { identity, settings });
  // A failed read is not kept: the next query tries again.
  settings.catch(() => {
    if (readings.get(path)?.settings === settings) readings.delete(path);
  });
  return await settings;
}

async function readResolvConf(path: string, identity: string): Promise<ResolverSettings> {
  if (identity === "absent") return parseResolvConf("");
  try {
    return parseResolvConf(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return parseResolvConf("");
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): Error {
  return new Error(`${path}: ${error instanceof Error ? error.message : error}`);
}

/**
 * The settings of a resolv.conf text: its name servers in order (the local host's where it
 * names none) and its `options timeout:N attempts:N rotate`, with resolv.conf(5)'s defaults
 * and bounds.
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./resolv_conf.ts";
 * parseResolvConf("nameserver 192.0.2.1\noptions timeout:1 attempts:3\n");
 * // { servers: [{ ipAddr: "192.0.2.1", port: 53 }], timeoutMs: 1000, attempts: 3, rotate: false }
 * ```
 */
export function parseResolvConf(text: string): ResolverSettings {
  const servers = parseNameServers(text);
  let timeout = 5;
  let attempts = 2;
  let rotate = false;
  for (const line of text.split("\n")) {
    const [keyword, ...words] = line.replace(/[#;].*/, "").trim().split(/\s+/);
    if (keyword !== "options") continue;
    for (const word of words) {
      const [name, value] = word.split(":");
      const n = Number(value);
      if (name === "timeout" && Number.isInteger(n) && n >= 0) timeout = Math.min(n, 30);
      else if (name === "attempts" && Number.isInteger(n) && n >= 0) attempts = Math.min(n, 5);
      else if (name === "rotate" && value === undefined) rotate = true;
    }
  }
  return {
    servers: servers.length > 0 ? servers : [LOCAL_RESOLVER],
    // A timeout of 0 waits 1 s, as glibc's; and a query is always sent at least once.
    timeoutMs: Math.max(timeout, 1) * 1000,
    attempts: Math.max(attempts, 1),
    rotate,
  };
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
export function parseNameServers(text: string): ResolverServer[] {
  const servers: ResolverServer[] = [];
  for (const line of text.split("\n")) {
    const [keyword, address] = line.replace(/[#;].*/, "").trim().split(/\s+/);
    // A scoped IPv6 address (fe80::1%eth0) needs the zone the socket API cannot take here.
    if (keyword === "nameserver" && address && !address.includes("%")) {
      servers.push({ ipAddr: address, port: 53 });
    }
  }
  return servers;
}
