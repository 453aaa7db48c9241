// Turns failed, delivered-with-NOTIFY=SUCCESS and long-delayed envelopes into reports to
// their senders, queued like any message. Reports are gathered per message for a moment
// (OpenSMTPD waits a second too), so ten failed recipients make one report, not ten.
// A failure report and the removal of the envelopes it covers share one commit.

import { type Logger, trace } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { backoffMs } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import type { QueuedEnvelope } from "./envelope.ts";
import { buildReport, type ReportKind } from "./report.ts";
import type { Queue } from "./sqlite_store.ts";

/** Where a report to an address goes: the action the ruleset picks for it. */
export interface ReportRoute {
  readonly action: string;
  readonly user?: string;
}

/** Options of {@link createReporter}. */
export interface ReporterOptions {
  readonly queue: Queue;
  readonly clock: Clock;
  readonly log: Logger;
  /** This host's name, in the report's From: and Reporting-MTA. */
  readonly hostname: string;
  /** Routes a report to its recipient; undefined when no rule accepts it. */
  readonly route: (rcpt: string) => ReportRoute | undefined | Promise<ReportRoute | undefined>;
  /** How long reports of one message are gathered (1000 ms). */
  readonly batchMs?: number;
  /**
   * A report that cannot be queued (full disk) is tried again, backing off, until
   * {@link Reporter.close}; without this its envelopes wait for the next start or flush.
   */
  readonly retry?: boolean;
}

/** Queues reports. */
export interface Reporter {
  /** A permanently failed envelope (state 'failed'; `lastError` says why). */
  failed(envelope: QueuedEnvelope): void;
  /** An envelope delivered with NOTIFY=SUCCESS (state 'delivered'). */
  delivered(envelope: QueuedEnvelope): void;
  /** A success report, as RFC 3464 "relayed": the next server does not do DSN. */
  relayed(envelope: QueuedEnvelope): void;
  /** A delay warning for an envelope still queued. */
  delayed(envelope: QueuedEnvelope): void;
  /** Queues every gathered report now and waits for them. */
  flush(): Promise<void>;
  /** Flushes, and stops trying again what failed (its envelopes keep their state). */
  close(): Promise<void>;
  /** Reports not yet queued. */
  readonly pending: number;
}

interface Batch {
  readonly kind: ReportKind;
  readonly envelopes: QueuedEnvelope[];
  timer?: number;
}

/** Creates a reporter over a queue. */
export function createReporter(options: ReporterOptions): Reporter {
  const { queue, clock, log } = options;
  const batchMs = options.batchMs ?? 1000;
  const batches = new Map<string, Batch>();
  const running = new Set<Promise<void>>();
  const retries = new Set<number>();
  let closed = false;

  function add(kind: ReportKind, envelope: QueuedEnvelope): void {
    if (!wantsReport(kind, envelope)) {
      // No report for the null sender (no bounce loops) or for NOTIFY=NEVER: the
      // envelope's life ends here.
      if (kind !== "delayed") track(() => queue.remove([envelope]));
      return;
    }
    const key = `${envelope.msgid}/${kind}`;
    let batch = batches.get(key);
    if (!batch) {
      batch = { kind, envelopes: [] };
      batches.set(key, batch);
      batch.timer = clock.setTimer(batchMs, () => send(key));
    }
    batch.envelopes.push(envelope);
  }

  function send(key: string): void {
    const batch = batches.get(key);
    if (!batch) return;
    batches.delete(key);
    if (batch.timer !== undefined) clock.clearTimer(batch.timer);
    track(() => queueReport(batch.kind, batch.envelopes));
  }

  // Nothing of a report that failed is written (its commit and the removal of the
  // envelopes it covers are one transaction); its envelopes keep their state and lease.
  function track(work: () => Promise<void>, failures = 0): void {
    const task = work().catch((error) => {
      if (!options.retry || closed) {
        // The next start (or flush) reports them again.
        log.warn(`bounce: cannot queue report: ${errorMessage(error)}`);
        return;
      }
      const delay = backoffMs(failures + 1);
      log.warn(
        `bounce: cannot queue report: ${errorMessage(error)}; trying again in ${delay / 1000}s`,
      );
      const timer = clock.setTimer(delay, () => {
        retries.delete(timer);
        track(work, failures + 1);
      });
      retries.add(timer);
    }).finally(() => running.delete(task));
    running.add(task);
  }

  async function flush(): Promise<void> {
    for (const key of [...batches.keys()]) send(key);
    while (running.size > 0) await Promise.all([...running]);
  }

  async function queueReport(kind: ReportKind, envelopes: QueuedEnvelope[]): Promise<void> {
    const first = envelopes[0]!;
    const consumes = kind === "delayed" ? [] : envelopes;
    const route = await options.route(first.sender);
    if (!route) {
      log.warn(
        `bounce: PermFail injecting ${kind} report for ${first.msgid} to <${first.sender}>: ` +
          "no rule accepts it",
      );
      if (consumes.length > 0) await queue.remove(consumes);
      return;
    }
    const [original, info] = [await queue.content(first.msgid), queue.messageInfo(first.msgid)];
    if (!original || !info) {
      if (consumes.length > 0) await queue.remove(consumes);
      return;
    }
    const now = clock.now();
    const content = buildReport({
      kind,
      hostname: options.hostname,
      to: first.sender,
      recipients: envelopes.map((e) => ({
        rcpt: e.rcpt,
        reason: e.lastError ?? (success(kind) ? kind : "unknown error"),
        ...(e.dsnOrcpt === undefined ? {} : { orcpt: e.dsnOrcpt }),
        // RFC 3464 §2.3.7: the field is optional, so none is given before a first attempt.
        ...(success(kind) || e.lastTry === undefined ? {} : { lastAttempt: e.lastTry }),
      })),
      original,
      arrival: info.createdAt,
      now,
      ...(info.dsnRet === undefined ? {} : { ret: info.dsnRet }),
      ...(info.dsnEnvid === undefined ? {} : { envid: info.dsnEnvid }),
      ...(kind === "delayed" ? { retryUntil: first.expiresAt } : {}),
    });
    trace("bounce", () => `${kind} report for ${first.msgid} to <${first.sender}>`);
    const msgid = await queue.commit({
      sender: "",
      helo: options.hostname,
      src: "local",
      content,
      envelopes: [{
        rcpt: first.sender,
        action: route.action,
        ...(route.user === undefined ? {} : { user: route.user }),
      }],
    }, { consumes });
    log.info(
      `bounce: ${kind} report ${msgid} for ${first.msgid} to <${first.sender}> ` +
        `(${envelopes.length} recipient${envelopes.length === 1 ? "" : "s"})`,
    );
  }

  return {
    failed: (envelope) => add("failed", envelope),
    delivered: (envelope) => add("delivered", envelope),
    relayed: (envelope) => add("relayed", envelope),
    delayed: (envelope) => add("delayed", envelope),
    flush,
    async close() {
      closed = true;
      for (const timer of retries) clock.clearTimer(timer);
      retries.clear();
      await flush();
    },
    get pending() {
      return batches.size + running.size + retries.size;
    },
  };
}

// RFC 3461 §4.1: NOTIFY=NEVER asks for nothing; a NOTIFY list asks only for what it
// names; no NOTIFY at all means failures (and, by OpenSMTPD's habit, delays) are reported.
function success(kind: ReportKind): boolean {
  return kind === "delivered" || kind === "relayed";
}

function wantsReport(kind: ReportKind, envelope: QueuedEnvelope): boolean {
  if (envelope.sender === "") return false;
  const notify = envelope.dsnNotify;
  if (notify === undefined) return !success(kind);
  if (notify.includes("NEVER")) return false;
  return notify.includes(kind === "failed" ? "FAILURE" : kind === "delayed" ? "DELAY" : "SUCCESS");
}
