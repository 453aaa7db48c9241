// How long a stopping daemon waits: SIGTERM lets sessions and deliveries in flight finish
// for a bounded time (10 s unless SMTPD_STOP_GRACE says otherwise), then the daemon exits.

/** Options of a daemon's stop. */
export interface StopOptions {
  /** How long sessions and deliveries in flight may take to finish; unbounded without. */
  readonly graceMs?: number;
}

/** The grace period of a SIGTERM, in milliseconds. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** The variable that sets the grace period, in seconds (decimals allowed). */
export const STOP_GRACE_VARIABLE = "SMTPD_STOP_GRACE";

/** The grace period: $SMTPD_STOP_GRACE seconds, else 10 s; a bad value is an error. */
export function stopGraceMs(): number {
  const text = Deno.env.get(STOP_GRACE_VARIABLE);
  if (text === undefined || text === "") return DEFAULT_STOP_GRACE_MS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(`${STOP_GRACE_VARIABLE}=${text}: expected a number of seconds`);
  }
  return Math.round(seconds * 1000);
}

/** Whether the work finished before the deadline (always waits when there is none). */
export async function finishesBy(work: Promise<void>, deadline?: number): Promise<boolean> {
  if (deadline === undefined) {
    await work;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
