// The daemon's life as a service: in the foreground on stderr (-d), or detached into the
// background with a pid file and syslog; SIGHUP reloads the configuration, SIGTERM and SIGINT
// stop it after the sessions and deliveries in flight finish (a bounded time).

import type { Config } from "../config/mod.ts";
import { createLogger, jsonLogger, type Logger, openDaemonLog } from "../log/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import { startDaemon } from "./daemon.ts";
import { detachDaemon, detachRefusal } from "./detach.ts";
import { checkPidFile, pidFilePath, writePidFile } from "./pidfile.ts";
import { keyComesFromInput, QUEUE_KEY_VARIABLE, readQueueKeyInput } from "./queue_key_input.ts";
import { queueDirectory } from "./runtime.ts";
import { describeStalls, startStallMonitor } from "./stall_monitor.ts";
import { stopGraceMs, type StopOptions } from "./stopping.ts";

/**
 * What the service runs: a daemon in this process (startDaemon), or — as root — the
 * privileged parent of an unprivileged front, or that front (src/privsep).
 */
export interface ServedDaemon {
  /** SIGHUP: the daemon re-reads its configuration (the root parent: its tables). */
  reloadTables(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
  /** Resolves, with the reason, if the daemon ends by itself (a front whose parent died). */
  readonly ended?: Promise<string>;
}

/** How the service runs: the mode comes from smtpd's flags. */
export interface ServiceOptions {
  /** `-d`: stay in the foreground and log to stderr, no pid file. */
  readonly foreground: boolean;
  /** This process is the background copy a detaching start launched. */
  readonly detachedChild: boolean;
  readonly verbose: boolean;
  /** `-T stall`: report event-loop stalls at exit. */
  readonly traceStalls: boolean;
  /** Starts what runs (default: the whole daemon in this process). */
  readonly start?: (log: Logger) => Promise<ServedDaemon>;
  /** Overrides `log format` (the privilege-separated front logs text lines to its parent). */
  readonly logFormat?: "text" | "json";
  /** A line logged as a warning before the start. */
  readonly startNote?: string;
}

/** Runs the daemon for a checked configuration until it is told to stop; the exit code. */
export async function runService(config: Config, options: ServiceOptions): Promise<number> {
  let graceMs: number;
  try {
    graceMs = stopGraceMs();
  } catch (error) {
    console.error(`smtpd: ${errorMessage(error)}`);
    return EX.CONFIG;
  }
  if (options.foreground) {
    const log = (options.logFormat ?? config.logFormat) === "json"
      ? jsonLogger(writeStderrLine, options.verbose)
      : createLogger({ verbose: options.verbose });
    return await serve(config, { ...options, log, graceMs });
  }
  const queueDir = queueDirectory(config);
  const pidFile = pidFilePath(queueDir, isRoot());
  try {
    checkPidFile(pidFile);
  } catch (error) {
    console.error(`smtpd: ${errorMessage(error)}`);
    return EX.FAILURE;
  }
  if (options.detachedChild) return await serveDetached(config, { ...options, graceMs, pidFile });
  const refusal = detachRefusal();
  if (refusal) {
    console.error(`smtpd: ${refusal}`);
    return EX.FAILURE;
  }
  // The background copy has no standard input: the key is read here, before it starts,
  // as OpenSMTPD reads it before daemon(3).
  let env: Record<string, string> = {};
  try {
    if (keyComesFromInput(config)) env = { [QUEUE_KEY_VARIABLE]: await readQueueKeyInput() };
  } catch (error) {
    console.error(`smtpd: ${errorMessage(error)}`);
    return EX.FAILURE;
  }
  const result = await detachDaemon({ pidFile, env });
  if (result.kind === "ready") {
    console.error(`smtpd: running in the background, pid ${result.pid} (${pidFile})`);
    return EX.OK;
  }
  const where = `its log: syslog's mail facility, or ${queueDir}/smtpd.log`;
  if (result.kind === "exited") {
    console.error(`smtpd: the daemon stopped while starting (exit ${result.code}); see ${where}`);
    return result.code === 0 ? EX.FAILURE : result.code;
  }
  console.error(`smtpd: pid ${result.pid} is still starting after 2 minutes; see ${where}`);
  return EX.TEMPFAIL;
}

/** The variable that names another syslog socket than /dev/log (tests, chroots). */
export const SYSLOG_SOCKET_VARIABLE = "SMTPD_SYSLOG_SOCKET";

async function serveDetached(
  config: Config,
  options: ServiceOptions & { graceMs: number; pidFile: string },
): Promise<number> {
  const queueDir = queueDirectory(config);
  Deno.mkdirSync(queueDir, { recursive: true, mode: 0o700 });
  const socketPath = Deno.env.get(SYSLOG_SOCKET_VARIABLE);
  const daemonLog = await openDaemonLog({
    verbose: options.verbose,
    ...(socketPath ? { socketPath } : {}),
    fallbackFile: `${queueDir}/smtpd.log`,
  });
  // In JSON, syslog's (or the file's) prefix stays and the message is the object.
  const log = (options.logFormat ?? config.logFormat) === "json"
    ? jsonLogger(
      // The JSON logger decided already which debug lines to write.
      (line, level) =>
        level === "debug" ? daemonLog.logger.trace(line) : daemonLog.logger[level](line),
      options.verbose,
    )
    : daemonLog.logger;
  if (daemonLog.fallbackReason) {
    log.info(`smtpd: logging here, not to syslog: ${daemonLog.fallbackReason}`);
  }
  try {
    return await serve(config, {
      ...options,
      log,
      // Written once every listener is bound: the waiting parent takes it as "ready".
      onReady: () => writePidFile(options.pidFile),
    });
  } finally {
    daemonLog.close();
  }
}

async function serve(
  config: Config,
  options: ServiceOptions & { log: Logger; graceMs: number; onReady?: () => () => void },
): Promise<number> {
  const { log } = options;
  const start = options.start ?? ((log: Logger) => startDaemon({ config, log }));
  // The handlers come first: a SIGTERM (or SIGHUP) that arrives while the daemon starts,
  // once its port already answers, must not kill it with the signal's default action.
  const stopSignal = listenForStopSignal();
  let daemon: ServedDaemon | undefined;
  // A reload that fails is logged; the daemon keeps serving with what it had. Before the
  // start ends there is nothing to reload: the start reads the tables anyway.
  const reload = () =>
    void daemon?.reloadTables().catch((error) =>
      log.warn(`smtpd: reload failed: ${errorMessage(error)}`)
    );
  Deno.addSignalListener("SIGHUP", reload);
  try {
    return await serveStarted();
  } finally {
    stopSignal.dispose();
    Deno.removeSignalListener("SIGHUP", reload);
  }

  async function serveStarted(): Promise<number> {
    if (options.startNote) log.warn(options.startNote);
    let started: ServedDaemon;
    try {
      started = daemon = await start(log);
    } catch (error) {
      log.warn(`smtpd: ${errorMessage(error)}`);
      return EX.FAILURE;
    }
    let removePidFile: (() => void) | undefined;
    try {
      removePidFile = options.onReady?.();
    } catch (error) {
      log.warn(`smtpd: ${errorMessage(error)}`);
      await started.stop({ graceMs: 0 });
      return EX.FAILURE;
    }
    const stalls = options.traceStalls ? startStallMonitor() : undefined;
    const ended = started.ended?.then((reason) => ({ reason }));
    const signal = await (ended ? Promise.race([stopSignal.received, ended]) : stopSignal.received);
    if (typeof signal === "object") {
      daemon = undefined;
      log.warn(`smtpd: ${signal.reason}`);
      await started.stop({ graceMs: 0 });
      removePidFile?.();
      return EX.FAILURE;
    }
    daemon = undefined; // no reload while it stops
    log.info(`smtpd: ${signal}: stopping, ${options.graceMs / 1000} s for work in flight`);
    if (stalls) {
      stalls.stop();
      log.info(describeStalls(stalls.report()));
    }
    await started.stop({ graceMs: options.graceMs });
    removePidFile?.();
    return EX.OK;
  }
}

/** The first SIGINT or SIGTERM, listened for from now on until disposed. */
function listenForStopSignal(): { received: Promise<Deno.Signal>; dispose(): void } {
  let resolve!: (signal: Deno.Signal) => void;
  const received = new Promise<Deno.Signal>((r) => resolve = r);
  const onInt = () => resolve("SIGINT");
  const onTerm = () => resolve("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  return {
    received,
    dispose() {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
    },
  };
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

const stderrEncoder = new TextEncoder();

// One JSON object a line on standard error, nothing before it (`log format json` with -d).
function writeStderrLine(line: string): void {
  const data = stderrEncoder.encode(line + "\n");
  let offset = 0;
  while (offset < data.byteLength) offset += Deno.stderr.writeSync(data.subarray(offset));
}
