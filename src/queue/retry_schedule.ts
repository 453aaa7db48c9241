// When a temporarily failed envelope is tried again: OpenSMTPD's scheduler_ramqueue.c
// schedule, counted from the envelope's arrival, never from the failure, so a slow attempt
// or a paused queue does not push every later try back.

/** The retry bases OpenSMTPD compiles in, seconds: BACKOFF_TRANSFER and BACKOFF_DELIVERY. */
export const DEFAULT_RETRY_BASE = Object.freeze({ mta: 400, mda: 10 });

/** The agent whose schedule an envelope follows: relayed (`mta`) or delivered here (`mda`). */
export type DeliveryAgent = "mda" | "mta";

/**
 * The next try after the `retries`-th failure (1 for the first): arrival + base × n², with
 * n the smallest number from `retries` up that lands after `now` (scheduler_next()).
 *
 * @example
 * ```ts
 * import { nextRetry } from "./retry_schedule.ts";
 * // A relayed envelope that arrived at 0 and failed at once: tried again at 400 s.
 * nextRetry({ createdAt: 0, retries: 1, baseMs: 400_000, now: 0 }); // 400_000
 * ```
 */
export function nextRetry(
  options: {
    readonly createdAt: number;
    readonly retries: number;
    readonly baseMs: number;
    readonly now: number;
  },
): number {
  const { createdAt, baseMs, now } = options;
  if (baseMs <= 0) return now;
  // The first step past `now`, found without a loop over every missed one.
  const least = Math.floor(Math.sqrt(Math.max(0, now - createdAt) / baseMs)) + 1;
  const step = Math.max(options.retries, least > 0 ? least - 1 : 0);
  for (let n = step;; n++) {
    const at = createdAt + baseMs * n * n;
    if (at > now) return at;
  }
}
