// A running daemon: the listeners and the scheduler over the runtime openRuntime() builds
// (tables, ruleset, queue, delivery). Owns start-up order, reloads and orderly shutdown.

import type { Config } from "../config/mod.ts";
import { errorMessage, EX, unmapIpv4 } from "../mail/mod.ts";
import {
  freeMsgid,
  type Queue,
  type Scheduler,
  secureQueueDirectory,
  startScheduler,
} from "../queue/mod.ts";
import { localAddresses } from "./server_name.ts";
import { agentOfAction } from "./delivery_agents.ts";
import { finishesBy, type StopOptions } from "./stopping.ts";
import { describeMissing, missingPermissions } from "./permissions.ts";
import { openRuntime, queueDirectory, type Runtime, type RuntimeSettings } from "./runtime.ts";
import { type LocalInterface, startLocalInterface } from "./local_interface.ts";
import {
  applyListeners,
  type ListenerEnvironment,
  localSessionOptions,
  openListeners,
  planListeners,
  type RunningListeners,
} from "./listener_set.ts";
import { liveRuntime } from "./live_runtime.ts";
import { type ReloadResult, rereadConfig } from "./reload.ts";
import { type ControlTarget, type PauseSwitches, runningSwitches } from "./control_commands.ts";
import { countedDelivery } from "./counted_delivery.ts";
import { DaemonStats, STAT } from "../control/mod.ts";
import { observingLogger, setTraceOutput } from "../log/mod.ts";
import { countEvent, HistogramSet } from "../metrics/mod.ts";
import {
  measuredDelivery,
  MetricsEndpointSlot,
  type PreparedChange,
  timedCommit,
} from "./metrics_endpoint.ts";
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
  /**
   * Re-reads the configuration file (SIGHUP, `smtpctl reload`): new rules, actions,
   * tables, certificates and listeners for new sessions; a file with errors changes
   * nothing (the errors are logged and returned).
   */
  reload(): Promise<ReloadResult>;
  /** {@link Daemon.reload}, for callers that only log (the service's SIGHUP). */
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
    backgroundCheckpoints: true,
    busyTimeoutMs: 250,
    ...(options.queueDir === undefined ? {} : { queueDir: options.queueDir }),
    ...(options.dns ? { dns: options.dns } : {}),
    ...(options.mxPort ? { mxPort: options.mxPort } : {}),
    ...(options.mtaStsPort ? { mtaStsPort: options.mtaStsPort } : {}),
    ...(options.privileged ? { privileged: options.privileged } : {}),
  });
  const { serverName, queue, queueDir, tables } = runtime;
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
  const isLocalAddress = (ip: string) => local.has(unmapIpv4(ip));

  // The configuration new sessions get; a reload replaces it. What outlives a reload
  // (the scheduler, the local socket, smtpctl) reads it through `live`.
  let current = runtime;
  const live = liveRuntime(() => current);
  // The counters smtpctl and any metrics reader see, and what smtpctl can pause.
  const stats = new DaemonStats();
  // smtpctl trace and profile lines go to this daemon's log; profiled steps count here.
  setTraceOutput(log, stats);
  // The log's events count too (TLS, AUTH, refusals, messages, relays): one tally for both.
  const counted = observingLogger(log, (event) => countEvent(stats, event));
  const histograms = new HistogramSet();
  const commit = timedCommit(
    (message: Parameters<Queue["commit"]>[0]) => queue.commit(message),
    histograms,
  );
  const paused: PauseSwitches = runningSwitches();
  queue.onCommit((envelopes) => stats.increment(STAT.enqueued, envelopes.length));
  const scheduler: Scheduler = startScheduler({
    queue,
    deliver: countedDelivery(measuredDelivery(live.deliver, { config, stats, histograms }), {
      config: () => current.config,
      stats,
      paused,
    }),
    log: counted,
    hostname: serverName,
    warnIntervals: config.bounceWarnIntervals,
    routeReport: live.routeReport,
    agentOf: (envelope) => agentOfAction(current.config)(envelope),
    retryBase: (agent) => current.config.queue.retry?.[agent],
  });
  const env: ListenerEnvironment = {
    log: counted,
    ...(options.dns ? { dns: options.dns } : {}),
    ...(options.privileged ? { authenticate: options.privileged.authenticate } : {}),
    isLocalAddress,
    paused: () => paused.smtp,
    onSession: (event, listener) => countSession(stats, event, listener),
    submit: (message) => commit(message).then(() => undefined),
    newMsgid: () => freeMsgid(queue),
  };

  let listeners: RunningListeners = new Map();
  let localInterface: LocalInterface | undefined;
  let filters: FilterSet | undefined;
  // sendmail, mailq and smtpctl reach the daemon here (src/control).
  const control: ControlTarget = {
    runtime: live,
    stats,
    paused,
    log,
    reload: async () => {
      const result = await reload();
      return result.ok ? { exit: EX.OK } : { exit: EX.FAILURE, error: result.errors.join("\n") };
    },
  };
  const metrics = new MetricsEndpointSlot(control, histograms, log);
  // One reload at a time: a second SIGHUP waits for the first.
  let reloading = Promise.resolve<ReloadResult>({ ok: true });
  const reload = (): Promise<ReloadResult> => {
    reloading = reloading.then(async () => {
      const read = await rereadConfig(current.config.file, log);
      if ("errors" in read) return { ok: false, errors: read.errors };
      const previous = current;
      let next: Runtime;
      let change: { oldSessionsEnded: Promise<void> };
      let metricsChange: PreparedChange;
      try {
        next = await previous.reconfigure(read.config);
      } catch (error) {
        log.warn(
          `smtpd: reload refused: the configuration was not reloaded: ${errorMessage(error)}`,
        );
        return { ok: false, errors: [errorMessage(error)] };
      }
      try {
        metricsChange = await metrics.prepare(read.config);
      } catch (error) {
        next.retire();
        log.warn(
          `smtpd: reload refused: the metrics endpoint cannot listen: ${errorMessage(error)}`,
        );
        return { ok: false, errors: [errorMessage(error)] };
      }
      try {
        change = await applyListeners(
          listeners,
          await planListeners(next, { ...env, ...(filters ? { filters } : {}) }),
          {
            graceMs: REMOVED_LISTENER_GRACE_MS,
            log,
          },
        );
      } catch (error) {
        next.retire();
        await metricsChange.abandon();
        log.warn(
          `smtpd: reload refused: the configuration was not reloaded: ${errorMessage(error)}`,
        );
        return { ok: false, errors: [errorMessage(error)] };
      }
      current = next;
      await metricsChange.commit();
      log.info(`smtpd: configuration reloaded from ${read.config.file}`);
      // The old tables serve the sessions that started under them, then close.
      void change.oldSessionsEnded.then(() => previous.retire());
      return { ok: true };
    });
    return reloading;
  };
  try {
    filters = await startFilterSet({
      config,
      // The tables of the current configuration, after a reload too.
      table: (name) => current.tables.get(name),
      lookupUser: createUserLookup(),
      asRoot: Deno.uid() === 0,
      sessionTimeoutSeconds: config.smtp.timeout ?? 300,
      admd: config.admd ?? serverName,
      extra: await startMailAuthFilters(config, {
        baseDir: runtime.baseDir,
        authservId: config.admd ?? serverName,
        ...(options.dns ? { dns: options.dns } : {}),
        log,
      }),
      ...(options.privileged?.spawnFilter ? { spawn: options.privileged.spawnFilter } : {}),
      log,
    });
    listeners = await openListeners(await planListeners(runtime, { ...env, filters }));
    // A front's parent names the socket: the front may not write where the name goes.
    localInterface = await startLocalInterface(
      live,
      log,
      control,
      () => localSessionOptions(current, { ...env, ...(filters ? { filters } : {}) }),
      { nameSocket: !options.privileged },
    );
    await metrics.start(config);
  } catch (error) {
    await Promise.all([...listeners.values()].map((l) => l.server.close()));
    await localInterface?.close();
    await metrics.close();
    await filters?.close();
    await scheduler.stop();
    await runtime.close();
    throw error;
  }
  const servers = () => [...listeners.values()].map((l) => l.server);
  for (const s of servers()) log.info(`smtpd: listening on ${s.address} port ${s.port}`);
  log.info(`smtpd: ready, queue in ${queueDir}`);

  return {
    serverName,
    queueDir,
    get listeners() {
      return servers().map((s) => ({ address: s.address, port: s.port }));
    },
    queue,
    filterPid: (name) => filters?.processes.get(name)?.pid,
    reload,
    async reloadTables() {
      await reload();
    },
    async stop(options) {
      const deadline = options?.graceMs === undefined ? undefined : Date.now() + options.graceMs;
      await Promise.all([
        ...servers().map((s) => s.close(options)),
        localInterface?.close(),
        metrics.close(),
      ]);
      await filters?.close();
      if (!(await finishesBy(scheduler.stop(), deadline))) {
        log.warn(
          `smtpd: ${scheduler.inFlight} deliveries still running at the end of the grace period; ` +
            "they are tried again at the next start",
        );
        return;
      }
      await current.close();
      log.info("smtpd: stopped");
    },
  };
}

// A listener a reload removes lets a message under way finish for this long.
const REMOVED_LISTENER_GRACE_MS = 60_000;

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
