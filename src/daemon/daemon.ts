// Wires the boxes into a running daemon: config → tables → ruleset → listeners → queue →
// scheduler → delivery. Owns start-up order and orderly shutdown, nothing else.

import { type Config, DEFAULTS } from "../config/mod.ts";
import { createDeliveryRouter, createMailboxWriter } from "../delivery/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { type Queue, type Scheduler, startScheduler } from "../queue/mod.ts";
import { compileRuleset } from "../rules/mod.ts";
import { type SmtpServer, startSmtpServer } from "../smtp/mod.ts";
import { createUserExists, createUserLookup, resolvePath, TableSet } from "../tables/mod.ts";
import { findServerName, localAddresses } from "./server_name.ts";
import { checkTableUses } from "./table_uses.ts";
import { listenerTls } from "./certificates.ts";
import { listenerAuth } from "./listener_auth.ts";
import { createRdnsResolver, type RdnsOptions } from "./rdns.ts";
import { openConfiguredQueue, routeExpanded, routeReport } from "./queue_setup.ts";

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Overrides the queue location (as SMTPD_QUEUE_DIR does). */
  readonly queueDir?: string;
  /** DNS settings (tests point the resolver at a server of their own). */
  readonly dns?: RdnsOptions;
  /** The port relayed mail reaches MX hosts on (25; tests use another). */
  readonly mxPort?: number;
}

/** A running daemon. */
export interface Daemon {
  readonly serverName: string;
  readonly queueDir: string;
  /** The bound listeners (a configured port 0 shows the real port here). */
  readonly listeners: readonly { readonly address: string; readonly port: number }[];
  readonly queue: Queue;
  /** Reloads every table from its source (SIGHUP); a failed table keeps its old contents. */
  reloadTables(): Promise<void>;
  /** Stops listening, lets running deliveries finish, closes the queue. */
  stop(): Promise<void>;
}

/** The queue directory: the override, else SMTPD_QUEUE_DIR, else `queue path`, else the default. */
export function queueDirectory(config: Config, override?: string): string {
  const fromEnv = Deno.env.get("SMTPD_QUEUE_DIR");
  const chosen = override ?? (fromEnv || undefined) ?? config.queue.path;
  return chosen ? resolvePath(configDir(config), chosen) : DEFAULTS.queuePath;
}

/** The directory relative paths of a configuration are resolved against. */
export function configDir(config: Config): string {
  const slash = config.file.lastIndexOf("/");
  return slash === -1 ? Deno.cwd() : slash === 0 ? "/" : config.file.slice(0, slash);
}

/** Starts a daemon for a loaded configuration. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, log } = options;
  const baseDir = configDir(config);
  const serverName = await findServerName(config.hostname);
  const tables = await TableSet.open(config, { baseDir });
  try {
    checkTableUses(config, tables);
  } catch (error) {
    tables.close();
    throw error;
  }
  const userExists = createUserExists();
  const compile = () =>
    compileRuleset(config, { tables: tables.tables, localNames: [serverName], userExists });
  // Compiled rules copy small tables into memory: a reload compiles them again.
  let ruleset = compile();
  const queueDir = queueDirectory(config, options.queueDir);
  let queue: Queue;
  try {
    queue = await openConfiguredQueue(config, queueDir, { log, leaseOnCommit: true });
  } catch (error) {
    tables.close();
    throw error;
  }
  const local = localAddresses();
  // Reverse DNS costs a lookup per connection: done only when a rule asks about it.
  const resolveRdns = config.matches.some((m) => m.criteria.some((c) => c.kind === "from-rdns"))
    ? createRdnsResolver(options.dns ?? {})
    : undefined;
  const isLocalAddress = (ip: string) => local.has(ip.startsWith("::ffff:") ? ip.slice(7) : ip);

  const asUsers = runsAsRoot();
  const writer = createMailboxWriter({ log, asUsers });
  const deliver = createDeliveryRouter({
    config,
    baseDir,
    lookupUser: createUserLookup(),
    log,
    tables: tables.tables,
    route: (address, sender) => routeExpanded(ruleset, address, sender),
    writer,
    asUsers,
    relay: {
      hostname: serverName,
      ...(options.dns ? { dns: options.dns } : {}),
      ...(options.mxPort ? { mxPort: options.mxPort } : {}),
    },
  });
  const scheduler: Scheduler = startScheduler({
    queue,
    deliver,
    log,
    hostname: serverName,
    warnIntervals: config.bounceWarnIntervals,
    routeReport: (rcpt) => routeReport(ruleset, rcpt),
  });

  const servers: SmtpServer[] = [];
  try {
    for (const listener of config.listeners) {
      const tls = await listenerTls(config, listener, baseDir);
      const auth = listenerAuth(listener, tables);
      servers.push(
        await startSmtpServer({
          ...(listener.address === "socket" ? { socketPath: `${queueDir}/smtpd.sock` } : {}),
          ...(tls ? { tls } : {}),
          ...(auth ? { auth } : {}),
          ...(listener.noDsn ? { dsn: false } : {}),
          ...(listener.maskSource ? { maskSource: true } : {}),
          address: listener.address === "localhost" ? "127.0.0.1" : listener.address,
          port: listener.port,
          hostname: listener.hostname ?? serverName,
          ...(listener.tag === undefined ? {} : { tag: listener.tag }),
          limits: {
            maxMessageSize: config.smtp.maxMessageSize,
            maxRcpt: config.smtp.maxRcpt,
            maxMails: config.smtp.maxMails,
            ...(config.smtp.greetingDelay === undefined
              ? {}
              : { greetingDelayMs: config.smtp.greetingDelay * 1000 }),
          },
          decide: (session, envelope) => ruleset(session, envelope),
          submit: (message) => queue.commit(message).then(() => undefined),
          isLocalAddress,
          ...(resolveRdns ? { resolveRdns } : {}),
          log,
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await scheduler.stop();
    await writer.close();
    queue.close();
    tables.close();
    throw error;
  }
  for (const s of servers) log.info(`smtpd: listening on ${s.address} port ${s.port}`);
  log.info(`smtpd: ready, queue in ${queueDir}`);

  return {
    serverName,
    queueDir,
    listeners: servers.map((s) => ({ address: s.address, port: s.port })),
    queue,
    async reloadTables() {
      for (const failure of await tables.reloadAll()) log.warn(`smtpd: ${failure.message}`);
      try {
        ruleset = compile();
      } catch (error) {
        log.warn(`smtpd: the rules keep their previous form: ${errorMessage(error)}`);
        return;
      }
      log.info("smtpd: tables reloaded");
    },
    async stop() {
      await Promise.all(servers.map((s) => s.close()));
      await scheduler.stop();
      await writer.close();
      queue.close();
      tables.close();
      log.info("smtpd: stopped");
    },
  };
}

/** Whether deliveries run as their users: the daemon is root. */
export function runsAsRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}
