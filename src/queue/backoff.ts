// How long to wait before touching the queue file again after a write failed (full disk,
// I/O error, a file kept busy): doubling from a second to a minute, so a long outage
// costs one try a minute and a short one is over in seconds.

const FIRST_MS = 1000;
const LAST_MS = 60_000;

/** The pause after the `failures`-th failure in a row (1 for the first). */
export function backoffMs(failures: number): number {
  return Math.min(LAST_MS, FIRST_MS * 2 ** Math.max(0, failures - 1));
}
