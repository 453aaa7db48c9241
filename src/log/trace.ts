// smtpctl trace/untrace and profile/unprofile: which subsystems write their extra lines, one
// set per process as OpenSMTPD's `tracing` and `profiling` masks. A traced line goes out at
// debug level whatever `log brief|verbose` says (OpenSMTPD's log_trace); a profiled step
// logs how long it took and adds to the counters `show stats` prints.

import type { Logger } from "./logger.ts";

/** smtpctl(8)'s trace subsystems (`transfer` is smtpctl.c's older name for `mta`). */
export const TRACE_SUBSYSTEMS = [
  "imsg",
  "io",
  "smtp",
  "filters",
  "transfer",
  "mta",
  "bounce",
  "scheduler",
  "expand",
  "lookup",
  "stat",
  "rules",
  "mproc",
] as const;

/** One traceable subsystem. */
export type TraceSubsystem = typeof TRACE_SUBSYSTEMS[number];

/** smtpctl(8)'s profile subsystems: queue I/O and the handling of requests. */
export const PROFILE_SUBSYSTEMS = ["queue", "imsg"] as const;

/** One profiled subsystem. */
export type ProfileSubsystem = typeof PROFILE_SUBSYSTEMS[number];

const traced = new Set<string>();
const profiled = new Set<string>();
let anyTraced = false;

/** The names `trace` accepts: the subsystems and `all`. */
export function isTraceName(name: string): boolean {
  return name === "all" || (TRACE_SUBSYSTEMS as readonly string[]).includes(name);
}

/** The names `profile` accepts. */
export function isProfileName(name: string): boolean {
  return (PROFILE_SUBSYSTEMS as readonly string[]).includes(name);
}

/** `trace NAME` / `untrace NAME` (`all`: every subsystem); `mta` and `transfer` go together. */
export function setTracing(name: string, on: boolean): void {
  const names = name === "all"
    ? TRACE_SUBSYSTEMS
    : name === "mta" || name === "transfer"
    ? ["mta", "transfer"]
    : [name];
  for (const n of names) on ? traced.add(n) : traced.delete(n);
  anyTraced = traced.size > 0;
}

/** `profile NAME` / `unprofile NAME`. */
export function setProfiling(name: string, on: boolean): void {
  on ? profiled.add(name) : profiled.delete(name);
}

/** Whether a subsystem is traced now. */
export function isTraced(subsystem: TraceSubsystem): boolean {
  return anyTraced && traced.has(subsystem);
}

/**
 * Writes a subsystem's trace line to the process's log when it is traced; `line` is only
 * built then, so an untraced call costs one check.
 */
export function trace(subsystem: TraceSubsystem, line: () => string): void {
  if (!anyTraced || !traced.has(subsystem) || !output) return;
  writeAlways(output, `${subsystem === "transfer" ? "mta" : subsystem}: ${line()}`);
}

/** Whether a subsystem is profiled now. */
export function isProfiled(subsystem: ProfileSubsystem): boolean {
  return profiled.size > 0 && profiled.has(subsystem);
}

/** Where profiled steps add their counts and time (the daemon's counters). */
export interface ProfileSink {
  increment(key: string, n?: number): void;
}

let output: Logger | undefined;
let profileSink: ProfileSink | undefined;

/**
 * Where this process's trace and profile lines go, and where profiled steps are counted:
 * the daemon names its log and counters when it starts.
 */
export function setTraceOutput(log: Logger | undefined, sink?: ProfileSink): void {
  output = log;
  profileSink = sink;
}

function writeAlways(log: Logger, line: string): void {
  if (log.trace) log.trace(line);
  else log.debug(line);
}

/**
 * Runs `step` and, when `subsystem` is profiled, logs how long it took
 * (`profile-queue: commit 0.000412s`) and counts it in `profiling.SUBSYSTEM.STEP.count`
 * and `.usec`, which `show stats` prints.
 */
export function profile<T>(subsystem: ProfileSubsystem, step: string, run: () => T): T {
  if (profiled.size === 0 || !profiled.has(subsystem)) return run();
  const started = performance.now();
  const done = () => recordProfile(subsystem, step, performance.now() - started);
  const result = run();
  if (result instanceof Promise) return result.finally(done) as T;
  done();
  return result;
}

function recordProfile(subsystem: string, name: string, ms: number): void {
  // A counter's name: `control.show queue` is counted as `control.show_queue`.
  const step = name.replace(/[<>]/g, "").replace(/[^A-Za-z0-9_.-]+/g, "_");
  profileSink?.increment(`profiling.${subsystem}.${step}.count`);
  profileSink?.increment(`profiling.${subsystem}.${step}.usec`, Math.round(ms * 1000));
  if (output) writeAlways(output, `profile-${subsystem}: ${step} ${(ms / 1000).toFixed(6)}s`);
}
