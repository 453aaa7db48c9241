// One delivery pass over the queue in the calling process (`queue flush`, `sendmail -q`):
// what is due (or everything, with `all`) is leased, tried once, and recorded; reports
// are queued and delivered in the same pass. Leases keep a running daemon off the same
// envelopes, so the two never deliver one envelope twice.

import { createDeliveryLoop, type DeliveryLoopOptions, type ReadyEnvelope } from "./attempt.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { retryWhileBusy } from "./sqlite_errors.ts";

/** Options of {@link flushQueue}. */
export interface FlushOptions extends Omit<DeliveryLoopOptions, "clock" | "reportBatchMs"> {
  readonly clock?: Clock;
  /** Try every queued envelope, due or not. */
  readonly all?: boolean;
  /** Deliveries in flight at once (default 16). */
  readonly concurrency?: number;
  /** Called after each attempt with the counts so far and the total found. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a pass did. */
export interface FlushSummary {
  delivered: number;
  /** Envelopes replaced by their expansion (aliases, .forward): their children follow. */
  expanded: number;
  deferred: number;
  failed: number;
  expired: number;
  /** Results that could not be written (the envelopes stay queued). */
  unrecorded: number;
  /** Envelopes tried in all. */
  total: number;
}

const BATCH = 256;
/** How long a pass waits for a file other processes keep busy, per claim. */
const BUSY_DEADLINE_MS = 120_000;

/** Runs one pass; resolves with its counts. */
export async function flushQueue(options: FlushOptions): Promise<FlushSummary> {
  const { queue } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const concurrency = options.concurrency ?? 16;
  // Reports are queued at the end of the pass, all at once.
  const { reporter, attempt } = createDeliveryLoop({
    ...options,
    clock,
    reportBatchMs: 24 * 3600 * 1000,
  });
  const summary: FlushSummary = {
    delivered: 0,
    expanded: 0,
    deferred: 0,
    failed: 0,
    expired: 0,
    unrecorded: 0,
    total: 0,
  };
  const fresh: ReadyEnvelope[] = [];
  queue.onCommit((envelopes, content, info) => {
    for (const envelope of envelopes) {
      fresh.push({ envelope, content, recovered: false, ...(info ? { info } : {}) });
    }
  });

  // Claims wait their turn on a busy file; a full disk ends the pass with an error (what
  // was written stays, what was not is tried by the next pass or the daemon).
  const busyWait = <T>(step: () => T): T => retryWhileBusy(step, BUSY_DEADLINE_MS);
  busyWait(() => queue.releaseStaleLeases({ own: true }));
  for (const envelope of busyWait(() => queue.claimReports(100_000))) {
    if (envelope.state === "failed") reporter.failed(envelope);
    else if (envelope.lastError === "relayed") reporter.relayed(envelope);
    else reporter.delivered(envelope);
  }

  const run = async (items: ReadyEnvelope[]) => {
    summary.total += items.length;
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const { transition } = await attempt(item);
        summary[transition]++;
        options.onProgress?.(
          summary.delivered + summary.expanded + summary.deferred + summary.failed +
            summary.expired + summary.unrecorded,
          summary.total,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  };

  // Everything due when the pass starts; what is deferred during the pass waits for the next.
  const now = clock.now();
  if (options.all) queue.scheduleAll(now);
  while (true) {
    const batch = busyWait(() => queue.claimDue(now, BATCH))
      .map((envelope): ReadyEnvelope => ({ envelope, recovered: true }));
    if (batch.length === 0) break;
    await run(batch);
  }
  // What this pass produced — expansions, then reports — is delivered in it too.
  while (true) {
    await reporter.flush();
    if (fresh.length === 0) break;
    await run(fresh.splice(0));
  }
  return summary;
}
