// The Deno permissions of the SMTP front, from one function: the parent starts the front
// with them, and the tests run code under exactly the same flags. Network, reading what
// the configuration names, writing the queue; no --allow-run, no --allow-ffi.

import { resolve } from "node:path";
import { type Config, CONFIG_PATH_VARIABLE } from "../config/mod.ts";
import { offlineDirectory } from "../control/mod.ts";
import { configDir, queueDirectory } from "../daemon/mod.ts";
import { CHANNEL_PATH_VARIABLE, CHANNEL_TOKEN_VARIABLE } from "../mail/mod.ts";
import { BACKENDS, networkTablePaths, parseSqliteConfig, resolvePath } from "../tables/mod.ts";

/** What the front may read and write. */
export interface FrontAccess {
  /** Files (and the queue directory) it reads. */
  readonly read: readonly string[];
  /** The queue directory: the only place it writes. */
  readonly write: readonly string[];
  /**
   * Every environment variable, not only {@link FRONT_ENV}: the redis client lists them
   * all as it loads. The front's environment holds nothing else (the parent clears it).
   */
  readonly wholeEnvironment?: boolean;
}

/** The variable that names the directory the front listens in for its mailbox writers. */
export const WRITER_SOCKETS_VARIABLE = "SMTPD_WRITER_SOCKETS";

/**
 * The environment variables the front reads (SMTPD_QUEUE_DIR, SMTPD_MAIL_SPOOL,
 * SMTPD_QUEUE_KEY, SMTPD_STOP_GRACE and SMTPD_OFFLINE_DIR are the daemon's own,
 * SSL_CERT_FILE the relay client's roots, SMTPD_CHANNEL and SMTPD_CHANNEL_TOKEN where
 * the parent listens for it, SMTPD_WRITER_SOCKETS where it listens for its mailbox writers).
 */
export const FRONT_ENV: readonly string[] = [
  CONFIG_PATH_VARIABLE,
  "SMTPD_QUEUE_DIR",
  "SMTPD_QUEUE_KEY",
  "SMTPD_MAIL_SPOOL",
  "SSL_CERT_FILE",
  "SMTPD_STOP_GRACE",
  "SMTPD_OFFLINE_DIR",
  "SMTPD_MAILNAME",
  CHANNEL_PATH_VARIABLE,
  CHANNEL_TOKEN_VARIABLE,
  WRITER_SOCKETS_VARIABLE,
];

/** What the front asks of the system: its host name, its addresses, its own ids, the uptime (its lease name, lease_holder.ts). */
export const FRONT_SYS: readonly string[] = [
  "hostname",
  "networkInterfaces",
  "uid",
  "gid",
  "osUptime",
];

// The backends whose tables are answered by a server, whose files may name more files.
export const NETWORK_BACKENDS: ReadonlySet<string> = new Set([
  "postgres",
  "mysql",
  "redis",
  "ldap",
]);

/** Files every front reads: the accounts (user lookups). */
// The accounts (a `control group`'s members among them), and services(5) for the port
// names of `listen on … port NAME`.
const SYSTEM_READS = ["/etc/passwd", "/etc/group", "/etc/services"];

/**
 * What the front of a configuration reads and writes: the configuration and the files it
 * includes, every table file (a table-sqlite configuration and its database), the
 * certificates and keys, the accounts file, and the queue; and the unix sockets of the
 * channel to the parent and of an `lmtp` action, which Deno counts as a read and a write.
 */
export function frontAccess(
  config: Config,
  options: {
    readonly sources: Iterable<string>;
    readonly queueDir: string;
    readonly baseDir: string;
    /** The socket of the channel to the parent (offerChannel()). */
    readonly channel?: string;
    /** The directory the front listens in for its mailbox writers. */
    readonly writerSockets?: string;
  },
): FrontAccess {
  const { baseDir, queueDir } = options;
  const read = new Set<string>(SYSTEM_READS);
  // Unix sockets the front connects to as a client: Deno counts that a read and a write.
  const sockets: string[] = [];
  for (const source of options.sources) read.add(resolve(source));
  read.add(resolve(config.file));
  for (const table of config.tables) {
    const source = table.source;
    if (source.kind !== "backend" || !Object.hasOwn(BACKENDS, source.backend)) continue;
    const path = resolvePath(baseDir, source.config);
    read.add(path);
    if (NETWORK_BACKENDS.has(source.backend)) {
      // What the table's file names: an ldap ca_file, a database's unix socket.
      let text: string | undefined;
      try {
        text = Deno.readTextFileSync(path);
      } catch {
        // The front reports an unreadable table configuration itself, at start.
      }
      const named = text === undefined ? undefined : networkTablePaths(source.backend, text);
      for (const file of named?.files ?? []) read.add(file);
      sockets.push(...named?.sockets ?? []);
    } else if (source.backend === "sqlite") {
      try {
        const dbpath = parseSqliteConfig(Deno.readTextFileSync(path), path).dbpath;
        for (const suffix of ["", "-wal", "-shm", "-journal"]) read.add(`${dbpath}${suffix}`);
      } catch {
        // The front reports an unreadable table-sqlite configuration itself, at start.
      }
    } else if (source.backend === "db") {
      for (const suffix of ["-wal", "-shm", "-journal"]) read.add(`${path}${suffix}`);
    }
  }
  for (const pki of config.pkis) {
    if (pki.cert) read.add(resolvePath(baseDir, pki.cert));
    if (pki.key) read.add(resolvePath(baseDir, pki.key));
  }
  for (const ca of config.cas) read.add(resolvePath(baseDir, ca.cert));
  // DKIM signing keys (`filter … dkim-sign … key FILE`): the front signs.
  for (const filter of config.filters) {
    if (filter.spec.kind === "dkim-sign") read.add(resolvePath(baseDir, filter.spec.key));
  }
  // The name servers relaying's DNSSEC-aware lookups (DANE, MTA-STS) ask.
  read.add("/etc/resolv.conf");
  const roots = Deno.env.get("SSL_CERT_FILE");
  if (roots) read.add(resolve(roots));
  read.add(queueDir);
  // Local submission: the offline directory, where the front's socket and the drops are.
  const offline = offlineDirectory(queueDir);
  read.add(offline);
  // Deno asks for read and write access to a unix socket a client connects to: an `lmtp`
  // action's socket and a table's server are the places besides the queue the front "writes".
  sockets.push(
    ...config.actions.flatMap((a) =>
      a.method.kind === "lmtp" && a.method.destination.startsWith("/") ? [a.method.destination] : []
    ),
  );
  if (options.channel) sockets.unshift(options.channel);
  // The front's own sockets for its mailbox writers.
  if (options.writerSockets) sockets.push(options.writerSockets);
  for (const socket of sockets) read.add(socket);
  const redis = config.tables.some((t) =>
    t.source.kind === "backend" && t.source.backend === "redis"
  );
  return {
    read: [...read],
    write: [queueDir, offline, ...sockets],
    ...(redis ? { wholeEnvironment: true } : {}),
  };
}

/**
 * The `deno run` flags of the front for that access. A path with a comma cannot be put in
 * a Deno permission list: it is refused here rather than silently split.
 */
export function frontPermissionFlags(access: FrontAccess): string[] {
  for (const path of [...access.read, ...access.write]) {
    if (path.includes(",")) {
      throw new Error(`The path "${path}" holds a comma, which Deno permission lists cannot`);
    }
  }
  return [
    "--no-prompt",
    "--allow-net",
    `--allow-read=${access.read.join(",")}`,
    `--allow-write=${access.write.join(",")}`,
    access.wholeEnvironment ? "--allow-env" : `--allow-env=${FRONT_ENV.join(",")}`,
    `--allow-sys=${FRONT_SYS.join(",")}`,
  ];
}

/**
 * The front's flags for a loaded configuration (its files read: the main one and its
 * includes), the channel's socket and the writers' directory: what the parent starts the
 * front with, and what the tests run probes under.
 */
export function frontPermissionFlagsFor(
  config: Config,
  sources: Iterable<string>,
  sockets: { readonly channel?: string; readonly writerSockets?: string } = {},
): string[] {
  return frontPermissionFlags(frontAccess(config, {
    sources,
    queueDir: queueDirectory(config),
    baseDir: configDir(config),
    ...sockets,
  }));
}
