// The scheduler: delivers envelopes as soon as they are committed, retries temporary
// failures on OpenSMTPD's schedule, expires and reports what cannot be delivered, and
// after a restart picks up whatever is still queued. It also notices mail written into
// the file by other processes (`sendmail` while the daemon runs).

import { createDeliveryLoop, type DeliveryLoopOptions, type ReadyEnvelope } from "./attempt.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";

export type { DeliverFunction, DeliveryOutcome } from "./attempt.ts";

/** Options of {@link startScheduler}. */
export interface SchedulerOptions extends Omit<DeliveryLoopOptions, "clock"> {
  readonly clock?: Clock;
  /** Deliveries in flight at once (default 64). */
  readonly concurrency?: number;
  /** How often the file is looked at for other processes' mail, ms (default 1000). */
  readonly pollMs?: number;
}

/** A running scheduler. */
export interface Scheduler {
  /** Stops starting deliveries and waits for those in flight and the reports gathered. */
  stop(): Promise<void>;
  /** Deliveries in flight now. */
  readonly inFlight: number;
}

const REFILL_BATCH = 1024;
const STALE_LEASE_CHECK_MS = 60_000;

/** Starts delivering. */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { queue, log } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const concurrency = options.concurrency ?? 64;
  const { reporter, attempt } = createDeliveryLoop({ ...options, clock });
  const ready: ReadyEnvelope[] = [];
  const known = new Set<string>(); // evpids ready or in flight
  const running = new Set<Promise<void>>();
  const startedAt = clock.now();
  let stopped = false;
  let queueMayHaveDue = true; // at start-up, everything queued is due
  let timer: { handle: number; at: number } | undefined;

  // Leases of this process's earlier life, or of a flush that died, are freed; the
  // reports a crash left unqueued are queued now.
  const released = queue.releaseStaleLeases({ own: true });
  if (released > 0) log.info(`scheduler: took back ${released} envelope(s) from gone processes`);
  for (const envelope of queue.claimReports(100_000)) {
    if (envelope.state === "failed") reporter.failed(envelope);
    else reporter.delivered(envelope);
  }

  queue.onCommit((envelopes, content) => {
    if (stopped) return;
    for (const envelope of envelopes) {
      known.add(envelope.evpid);
      ready.push({ envelope, content, recovered: false });
    }
    pump();
  });

  // Mail committed by another process changes the file's data version.
  let dataVersion = queue.dataVersion();
  let lastStaleCheck = Date.now();
  const poll = setInterval(() => {
    if (stopped) return;
    const version = queue.dataVersion();
    const now = Date.now();
    if (now - lastStaleCheck >= STALE_LEASE_CHECK_MS) {
      lastStaleCheck = now;
      if (queue.releaseStaleLeases() > 0) queueMayHaveDue = true;
    }
    if (version !== dataVersion) {
      dataVersion = version;
      queueMayHaveDue = true;
    }
    if (queueMayHaveDue) pump();
  }, options.pollMs ?? 1000);

  // Loads due envelopes from the file: at start-up and when a retry comes due.
  function refill(): void {
    if (!queueMayHaveDue) return;
    queueMayHaveDue = false;
    const rows = queue.claimDue(clock.now(), REFILL_BATCH);
    for (const envelope of rows) {
      if (known.has(envelope.evpid)) continue;
      known.add(envelope.evpid);
      // Committed before this process started: it may have been delivered just before a
      // crash, so the delivery agent checks before writing it again.
      ready.push({ envelope, recovered: envelope.createdAt < startedAt });
    }
    if (rows.length === REFILL_BATCH) queueMayHaveDue = true;
  }

  function pump(): void {
    if (stopped) return;
    if (ready.length === 0) refill();
    while (running.size < concurrency && ready.length > 0) {
      const item = ready.shift()!;
      const task = attempt(item).then(({ retryAt }) => {
        if (retryAt !== undefined) wakeAt(retryAt);
      }).finally(() => {
        running.delete(task);
        known.delete(item.envelope.evpid);
        pump();
      });
      running.add(task);
    }
    if (ready.length === 0 && running.size === 0) {
      const next = queue.nextTry();
      if (next !== undefined) wakeAt(next);
    }
  }

  // Arms the timer for the earliest moment something becomes due.
  function wakeAt(at: number): void {
    if (stopped || (timer && timer.at <= at)) return;
    if (timer) clock.clearTimer(timer.handle);
    const handle = clock.setTimer(Math.max(0, at - clock.now()), () => {
      timer = undefined;
      queueMayHaveDue = true;
      pump();
    });
    timer = { handle, at };
  }

  pump();

  return {
    get inFlight() {
      return running.size;
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      if (timer) clock.clearTimer(timer.handle);
      timer = undefined;
      while (running.size > 0) await Promise.all([...running]);
      await reporter.flush();
    },
  };
}
