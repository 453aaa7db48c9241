// The SMTP session fuzz target, shared by the short run in the test suite and the long one
// in bench/: seeded sessions against one daemon, with its liveness, memory and deliveries
// checked as the run goes; a crashed daemon is restarted on its queue and the run goes on.

import { fuzz, type FuzzReport } from "./_harness.ts";
import { type FuzzDaemon, startFuzzDaemon } from "./_smtp_daemon.ts";
import { DeliveryLedger } from "./_smtp_ledger.ts";
import { runFuzzSession } from "./_smtp_session.ts";

/** Options of {@link runSmtpFuzz}. */
export interface SmtpFuzzOptions {
  readonly cases: number;
  readonly seed?: number;
  /** The daemon's resident memory must stay under this (MB). */
  readonly memoryBoundMb: number;
  /** Check deliveries after this many sessions (and at the end). */
  readonly settleEvery?: number;
  /** Stop after this many failed cases (default 1). */
  readonly maxFailures?: number;
  /** Sessions at once (default 4). */
  readonly concurrency?: number;
  /** Called every `settleEvery` sessions with the counts so far. */
  onProgress?(stats: SmtpFuzzStats): void;
}

/** What a run counted. */
export interface SmtpFuzzStats {
  sessions: number;
  commands: number;
  /** Messages the daemon answered 250 for. */
  accepted: number;
  /** Files found in the Maildir. */
  delivered: number;
  crashes: number;
  hangs: number;
  peakRssMb: number;
}

/** A finished run: the harness's report, the counts, and delivery problems found at the end. */
export interface SmtpFuzzResult {
  readonly report: FuzzReport;
  readonly stats: SmtpFuzzStats;
  readonly deliveryProblems: readonly string[];
}

// A session's daemon-side deliveries may lag behind the session; this bounds the wait.
const SETTLE_TIMEOUT_MS = 60_000;

/** Runs `cases` fuzzed sessions against a daemon child process. */
export async function runSmtpFuzz(options: SmtpFuzzOptions): Promise<SmtpFuzzResult> {
  const daemon: FuzzDaemon = await startFuzzDaemon();
  const ledger = new DeliveryLedger();
  const settleEvery = options.settleEvery ?? 500;
  const stats: SmtpFuzzStats = {
    sessions: 0,
    commands: 0,
    accepted: 0,
    delivered: 0,
    crashes: 0,
    hangs: 0,
    peakRssMb: daemon.residentMegabytes(),
  };
  const sampleMemory = () => {
    const rss = daemon.residentMegabytes();
    stats.peakRssMb = Math.max(stats.peakRssMb, rss);
    if (rss > options.memoryBoundMb) {
      throw new Error(
        `memory: the daemon's RSS is ${rss.toFixed(0)} MB, over ${options.memoryBoundMb} MB`,
      );
    }
  };
  // One restart after a crash, however many sessions notice it.
  let restarting: Promise<void> | undefined;
  const restart = () => {
    if (!restarting) stats.crashes++;
    restarting ??= daemon.restart().finally(() => restarting = undefined);
    return restarting;
  };
  const settle = async () => {
    const problems = await ledger.settle(daemon.mailDir, SETTLE_TIMEOUT_MS);
    stats.delivered = ledger.delivered;
    return problems;
  };
  try {
    const report = await fuzz("smtp-session", {
      cases: options.cases,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      maxFailures: options.maxFailures ?? 1,
      concurrency: options.concurrency ?? 4,
    }, async (random, index) => {
      if (!daemon.alive()) await restart();
      let record;
      try {
        record = await runFuzzSession(daemon, random, `c${index}`);
      } catch (error) {
        if (!daemon.alive()) throw new Error(`crash: ${daemon.deathReport()}`);
        if (String(error).includes("hang:")) stats.hangs++;
        throw error;
      } finally {
        stats.sessions++;
      }
      ledger.record(index, record);
      stats.commands += record.commands;
      stats.accepted += record.accepted.length;
      if (!daemon.alive()) throw new Error(`crash: ${daemon.deathReport()}`);
      if (index % 20 === 0) sampleMemory();
      if ((index + 1) % settleEvery === 0) {
        const problems = await settle();
        options.onProgress?.(stats);
        if (problems.length > 0) throw new Error(`delivery: ${problems.join("\n")}`);
      }
    });
    if (!daemon.alive()) await restart();
    sampleMemory();
    const deliveryProblems = await settle();
    return { report, stats, deliveryProblems };
  } finally {
    await daemon.stop();
  }
}
