// The one source of the daemon's counters: whatever counts (sessions, the queue, the
// scheduler, smtpctl) counts here, and `smtpctl show stats`, `smtpctl monitor` and any
// other reader (a metrics endpoint) read these same numbers. Keep no second tally.

import { trace } from "../log/mod.ts";

/** The counters a running daemon keeps, named as OpenSMTPD's `show stats` names them. */
export class DaemonStats {
  /** Unix milliseconds of the daemon's start (`uptime`). */
  readonly startedAt: number;
  #counters = new Map<string, number>();

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  /** Adds `n` (1) to a counter. */
  increment(key: string, n = 1): void {
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
    trace("stat", () => `increment ${key} ${n}`);
  }

  /** Takes `n` (1) from a gauge, never below 0. */
  decrement(key: string, n = 1): void {
    this.#counters.set(key, Math.max(0, (this.#counters.get(key) ?? 0) - n));
    trace("stat", () => `decrement ${key} ${n}`);
  }

  /** Sets a gauge read from elsewhere (the queue's size). */
  set(key: string, value: number): void {
    this.#counters.set(key, value);
    trace("stat", () => `set ${key} ${value}`);
  }

  /** A counter's value, 0 when it never moved. */
  get(key: string): number {
    return this.#counters.get(key) ?? 0;
  }

  /** Every counter by name, sorted, as `show stats` prints them. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counters].sort(([a], [b]) => a < b ? -1 : 1));
  }
}

/** The counter names the daemon keeps (what `monitor`'s columns are made of). */
export const STAT = {
  sessions: "smtp.session",
  sessionsOpened: "smtp.session.opened",
  sessionsClosed: "smtp.session.closed",
  enqueued: "scheduler.envelope.incoming",
  dequeued: "scheduler.envelope.dequeued",
  inQueue: "scheduler.envelope",
  deliveryOk: "scheduler.delivery.ok",
  deliveryTempfail: "scheduler.delivery.tempfail",
  deliveryPermfail: "scheduler.delivery.permfail",
  deliveryLoop: "scheduler.delivery.loop",
  expired: "scheduler.envelope.expired",
  removed: "scheduler.envelope.removed",
  bounces: "scheduler.envelope.bounce",
} as const;
