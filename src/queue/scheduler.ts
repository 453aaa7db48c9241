// The scheduler: delivers envelopes as soon as they are committed, retries temporary
// failures on OpenSMTPD's schedule, and after a restart picks up whatever is still queued.

import type { Logger } from "../log/mod.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import type { QueuedEnvelope } from "./envelope.ts";
import type { Queue } from "./sqlite_store.ts";

/** How one delivery attempt ended. */
export type DeliveryOutcome =
  | { readonly kind: "ok" }
  | { readonly kind: "tempfail"; readonly reason: string }
  | { readonly kind: "permfail"; readonly reason: string };

/** Delivers one envelope. `recovered` is true for envelopes found queued at start-up. */
export type DeliverFunction = (
  envelope: QueuedEnvelope,
  content: Uint8Array,
  context: { readonly recovered: boolean },
) => Promise<DeliveryOutcome>;

/** Options of {@link startScheduler}. */
export interface SchedulerOptions {
  readonly queue: Queue;
  readonly deliver: DeliverFunction;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Deliveries in flight at once (default 64). */
  readonly concurrency?: number;
  /** Seconds of the retry base: next try = now + base × attempts² (OpenSMTPD: 10 s local). */
  readonly retryBaseSeconds?: number;
}

/** A running scheduler. */
export interface Scheduler {
  /** Stops starting deliveries and waits for those in flight. */
  stop(): Promise<void>;
  /** Deliveries in flight now. */
  readonly inFlight: number;
}

interface Ready {
  envelope: QueuedEnvelope;
  content?: Uint8Array;
  recovered: boolean;
}

const REFILL_BATCH = 1024;

/** Starts delivering. */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { queue, deliver, log } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const concurrency = options.concurrency ?? 64;
  const base = (options.retryBaseSeconds ?? 10) * 1000;
  const ready: Ready[] = [];
  const known = new Set<string>(); // evpids ready or in flight
  const running = new Set<Promise<void>>();
  const startedAt = clock.now();
  let stopped = false;
  let queueMayHaveDue = true; // at start-up, everything queued is due
  let timer: { handle: number; at: number } | undefined;

  queue.onCommit((envelopes, content) => {
    if (stopped) return;
    for (const envelope of envelopes) {
      known.add(envelope.evpid);
      ready.push({ envelope, content, recovered: false });
    }
    pump();
  });

  // Loads due envelopes from the file: at start-up and when a retry comes due.
  function refill(): void {
    if (!queueMayHaveDue) return;
    const limit = REFILL_BATCH + known.size;
    const rows = queue.due(clock.now(), limit);
    for (const envelope of rows) {
      if (known.has(envelope.evpid)) continue;
      known.add(envelope.evpid);
      // Committed before this process started: it may have been delivered just before a
      // crash, so the delivery agent checks before writing it again.
      ready.push({ envelope, recovered: envelope.createdAt < startedAt });
    }
    if (rows.length < limit) queueMayHaveDue = false;
  }

  function pump(): void {
    if (stopped) return;
    if (ready.length === 0) refill();
    while (running.size < concurrency && ready.length > 0) {
      const item = ready.shift()!;
      const task = attempt(item).finally(() => {
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

  async function attempt(item: Ready): Promise<void> {
    const { envelope } = item;
    const started = clock.now();
    let outcome: DeliveryOutcome;
    const content = item.content ?? queue.content(envelope.msgid);
    if (!content) {
      outcome = { kind: "permfail", reason: "message content missing from the queue" };
    } else {
      try {
        outcome = await deliver(envelope, content, { recovered: item.recovered });
      } catch (error) {
        outcome = {
          kind: "tempfail",
          reason: error instanceof Error ? error.message : String(error),
        };
      }
    }
    const delay = ((clock.now() - started) / 1000).toFixed(2);
    const what = `${envelope.evpid}: from=<${envelope.sender}> to=<${envelope.rcpt}> user=${
      envelope.user ?? "-"
    } action=${envelope.action} delay=${delay}s`;
    try {
      switch (outcome.kind) {
        case "ok":
          log.info(`delivery: Ok for ${what}`);
          await queue.markDelivered(envelope);
          return;
        case "tempfail": {
          const attempts = envelope.attempts + 1;
          const next = clock.now() + base * attempts * attempts;
          log.info(`delivery: TempFail for ${what}: ${outcome.reason}`);
          await queue.markDeferred(envelope, next, outcome.reason);
          wakeAt(next);
          return;
        }
        case "permfail":
          log.info(`delivery: PermFail for ${what}: ${outcome.reason}`);
          await queue.markFailed(envelope, outcome.reason);
          return;
      }
    } catch (error) {
      // The result could not be recorded: the envelope stays queued and is tried again.
      log.warn(`delivery: cannot record result for ${envelope.evpid}: ${error}`);
    }
  }

  pump();

  return {
    get inFlight() {
      return running.size;
    },
    async stop() {
      stopped = true;
      if (timer) clock.clearTimer(timer.handle);
      timer = undefined;
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
