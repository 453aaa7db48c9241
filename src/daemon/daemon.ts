// A running daemon: the listeners and the scheduler over the runtime openRuntime() builds
// (tables, ruleset, queue, delivery). Owns start-up order and orderly shutdown, nothing else.

import { withTableLookups } from "../tables/mod.ts";
import type { Config } from "../config/mod.ts";
import { unmapIpv4 } from "../mail/mod.ts";
import { type Queue, type Scheduler, secureQueueDirectory, startScheduler } from "../queue/mod.ts";
import { type SmtpServer, startSmtpServer } from "../smtp/mod.ts";
import { localAddresses } from "./server_name.ts";
import { listenerTls } from "./certificates.ts";
import { agentOfAction } from "./delivery_agents.ts";
import { listenerAuth } from "./listener_auth.ts";
import { listenerBindings } from "./listen_addresses.ts";
import { finishesBy, type StopOptions } from "./stopping.ts";
import { describeMissing, missingPermissions } from "./permissions.ts";
import { createRdnsResolver } from "./rdns.ts";
import { openRuntime, queueDirectory, type RuntimeSettings } from "./runtime.ts";
import { type LocalInterface, startLocalInterface } from "./local_interface.ts";
import { srsKeysOf, withSrsReverse } from "./srs_reverse.ts";
import { type ControlTarget, type PauseSwitches } from "./control_commands.ts";
import { countedDelivery } from "./counted_delivery.ts";
import { DaemonStats, STAT } from "../control/mod.ts";
import { observingLogger } from "../log/mod.ts";
import { countEvent, HistogramSet, type MetricsServer } from "../metrics/mod.ts";
import { measuredDelivery, startMetricsEndpoint, timedCommit } from "./metrics_endpoint.ts";
import { type FilterSet, startFilterSet } from "../filters/mod.ts";
import { startMailAuthFilters } from "../mail_auth/mod.ts";
import { createUserLookup } from "../tables/mod.ts";

/** Options of {@link startDaemon}: the configuration, and the settings every runtime takes. */
export interface DaemonOptions extends RuntimeSettings {
  /** The configuration to run, as loadConfig() or parseConfig() gives it. */
  readonly config: Config;
}

/** A running daemon. */
export interface Daemon {
  /** The name the daemon gives itself (HELO, Received:, reports). */
  readonly serverName: string;
  /** The queue directory. */
  readonly queueDir: string;
  /** The bound listeners (a configured port 0 shows the real port here). */
  readonly listeners: readonly { readonly address: string; readonly port: number }[];
  /** The queue the daemon delivers from. */
  readonly queue: Queue;
  /** The process id of a running proc-exec filter, by filter name (undefined while down). */
  filterPid(name: string): number | undefined;
  /** Reloads every table from its source (SIGHUP); a failed table keeps its old contents. */
  reloadTables(): Promise<void>;
  /**
   * Stops listening, lets sessions in the middle of a message and running deliveries
   * finish (for at most `graceMs`, when given), closes the queue.
   */
  stop(options?: StopOptions): Promise<void>;
}

/** Starts a daemon for a loaded configuration. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, log } = options;
  // The queue is the daemon's own: 0700, its files 0600, before anything opens it.
  await secureQueueDirectory(queueDirectory(config, options.queueDir), { log });
  // The daemon delivers what it receives: new envelopes are leased to it at once. A
  // queue statement waiting for another process's lock blocks every session, so it
  // waits briefly, and the write is tried again without blocking.
  const runtime = await openRuntime(config, {
    log,
    leaseOnCommit: true,
    busyTimeoutMs: 250,
    ...(options.queueDir === undefined ? {} : { queueDir: options.queueDir }),
    ...(options.dns ? { dns: options.dns } : {}),
    ...(options.mxPort ? { mxPort: options.mxPort } : {}),
    ...(options.privileged ? { privileged: options.privileged } : {}),
  });
  const { baseDir, serverName, queue, queueDir, tables } = runtime;
  // A front with a privileged parent starts no process: the parent checks its own.
  const missing = await missingPermissions(config, {
    queueDir,
    asUsers: !options.privileged && Deno.uid() === 0,
    tables: tables.tables,
    ...(options.privileged ? { commandsElsewhere: true } : {}),
  });
  if (missing.length > 0) {
    await runtime.close();
    throw new Error(describeMissing(missing));
  }
  const local = localAddresses();
  // Reverse DNS costs a lookup per connection: done only when a rule asks about it.
  // Filters are told the client's name at link-connect, and builtin ones may test it.
  const wantsRdns = config.filters.length > 0 ||
    config.matches.some((m) => m.criteria.some((c) => c.kind === "from-rdns"));
  const resolveRdns = wantsRdns ? createRdnsResolver(options.dns ?? {}) : undefined;
  const isLocalAddress = (ip: string) => local.has(unmapIpv4(ip));
  // The rules as they stand after a reload, with SRS bounces mapped back first.
  const bounceAware = withSrsReverse(
    (session, envelope) => runtime.ruleset(session, envelope),
    srsKeysOf(config),
  );

  // The counters smtpctl and any metrics reader see, and what smtpctl can pause.
  const stats = new DaemonStats();
  // The log's events count too (TLS, AUTH, refusals, messages, relays): one tally for both.
  const counted = observingLogger(log, (event) => countEvent(stats, event));
  const histograms = new HistogramSet();
  const commit = timedCommit(
    (message: Parameters<Queue["commit"]>[0]) => queue.commit(message),
    histograms,
  );
  const paused: PauseSwitches = { mda: false, mta: false, smtp: false };
  queue.onCommit((envelopes) => stats.increment(STAT.enqueued, envelopes.length));
  const scheduler: Scheduler = startScheduler({
    queue,
    deliver: countedDelivery(measuredDelivery(runtime.deliver, { config, stats, histograms }), {
      config,
      stats,
      paused,
    }),
    log: counted,
    hostname: serverName,
    warnIntervals: config.bounceWarnIntervals,
    routeReport: runtime.routeReport,
    agentOf: agentOfAction(config),
  });

  const servers: SmtpServer[] = [];
  let localInterface: LocalInterface | undefined;
  let metrics: MetricsServer | undefined;
  let filters: FilterSet | undefined;
  try {
    filters = await startFilterSet({
      config,
      table: (name) => tables.get(name),
      lookupUser: createUserLookup(),
      asRoot: Deno.uid() === 0,
      sessionTimeoutSeconds: config.smtp.timeout ?? 300,
      admd: config.admd ?? serverName,
      extra: await startMailAuthFilters(config, {
        baseDir,
        authservId: config.admd ?? serverName,
        ...(options.dns ? { dns: options.dns } : {}),
        log,
      }),
      ...(options.privileged?.spawnFilter ? { spawn: options.privileged.spawnFilter } : {}),
      log,
    });
    for (const [listener, address] of await listenerBindings(config.listeners, log)) {
      const tls = await listenerTls(config, listener, baseDir);
      const auth = listenerAuth(listener, tables, options.privileged?.authenticate);
      servers.push(
        await startSmtpServer({
          ...(listener.address === "socket" ? { socketPath: `${queueDir}/smtpd.sock` } : {}),
          ...(tls ? { tls } : {}),
          ...(auth ? { auth } : {}),
          ...(listener.noDsn ? { dsn: false } : {}),
          ...(listener.maskSource ? { maskSource: true } : {}),
          address,
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
            ...(config.smtp.timeout === undefined ? {} : {
              idleTimeoutMs: config.smtp.timeout * 1000,
              dataTimeoutMs: config.smtp.timeout * 1000,
            }),
          },
          // Tables answered by a server make the decision wait for them.
          decide: (session, envelope) => withTableLookups(() => bounceAware(session, envelope)),
          paused: () => paused.smtp,
          onSession: (event) => countSession(stats, event, listenerLabel(listener, address)),
          submit: (message) => commit(message).then(() => undefined),
          isLocalAddress,
          ...(resolveRdns ? { resolveRdns } : {}),
          ...withFilters(filters.planFor(listener.filters)),
          log: counted,
        }),
      );
    }
    // sendmail and mailq reach the daemon here (src/control).
    const control: ControlTarget = {
      runtime,
      stats,
      paused,
      log,
      traces: new Set(),
      profiles: new Set(),
      reload: async () => {
        // The configuration itself is read at start; a reload re-reads its tables.
        return (await runtime.reloadTables())
          ? { exit: 0 }
          : { exit: 1, error: "the rules keep their previous form (see the log)" };
      },
    };
    localInterface = await startLocalInterface(runtime, log, control);
    metrics = await startMetricsEndpoint(config, control, histograms, log);
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await localInterface?.close();
    await filters?.close();
    await scheduler.stop();
    await runtime.close();
    throw error;
  }
  for (const s of servers) log.info(`smtpd: listening on ${s.address} port ${s.port}`);
  log.info(`smtpd: ready, queue in ${queueDir}`);

  return {
    serverName,
    queueDir,
    listeners: servers.map((s) => ({ address: s.address, port: s.port })),
    queue,
    filterPid: (name) => filters?.processes.get(name)?.pid,
    async reloadTables() {
      if (await runtime.reloadTables()) log.info("smtpd: tables reloaded");
    },
    async stop(options) {
      const deadline = options?.graceMs === undefined ? undefined : Date.now() + options.graceMs;
      await Promise.all([
        ...servers.map((s) => s.close(options)),
        localInterface?.close(),
        metrics?.close(),
      ]);
      await filters?.close();
      if (!(await finishesBy(scheduler.stop(), deadline))) {
        log.warn(
          `smtpd: ${scheduler.inFlight} deliveries still running at the end of the grace period; ` +
            "they are tried again at the next start",
        );
        return;
      }
      await runtime.close();
      log.info("smtpd: stopped");
    },
  };
}

function countSession(stats: DaemonStats, event: "open" | "close", listener: string): void {
  if (event === "open") {
    stats.increment(STAT.sessionsOpened);
    stats.increment(`smtp.session.listener.${listener}`);
    stats.increment(STAT.sessions);
  } else {
    stats.increment(STAT.sessionsClosed);
    stats.decrement(STAT.sessions);
  }
}

// A listener's name in the counters: its tag, else where it listens.
function listenerLabel(
  listener: { readonly tag?: string; readonly port: number },
  address: string,
) {
  if (listener.tag !== undefined) return listener.tag;
  return address.includes(":") ? `[${address}]:${listener.port}` : `${address}:${listener.port}`;
}

function withFilters<T>(plan: T | undefined): { filters?: T } {
  return plan === undefined ? {} : { filters: plan };
}
