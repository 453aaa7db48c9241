// Measures how long the event loop is held up: a timer asks to run every few
// milliseconds, and how late it runs is the stall. Queue work (SQLite commits run on the
// loop) must not stall the sessions; `smtpd -T stall` reports what this sees.

/** The stalls seen so far. */
export interface StallReport {
  readonly samples: number;
  /** The longest stall, ms. */
  readonly maxMs: number;
  /** 99th percentile, ms (1 ms resolution). */
  readonly p99Ms: number;
}

/** A running monitor. */
export interface StallMonitor {
  report(): StallReport;
  stop(): void;
}

/** Starts sampling every `intervalMs` (default 10). */
export function startStallMonitor(intervalMs = 10): StallMonitor {
  // Lateness histogram by whole milliseconds; the tail above a second is one bucket.
  const buckets = new Uint32Array(1001);
  let samples = 0;
  let maxMs = 0;
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected);
    expected = now + intervalMs;
    samples++;
    if (late > maxMs) maxMs = late;
    buckets[Math.min(1000, Math.floor(late))]!++;
  }, intervalMs);
  return {
    report() {
      let seen = 0;
      let p99 = 0;
      for (let ms = 0; ms < buckets.length; ms++) {
        seen += buckets[ms]!;
        if (seen >= samples * 0.99) {
          p99 = ms;
          break;
        }
      }
      return { samples, maxMs: Math.round(maxMs * 10) / 10, p99Ms: p99 };
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** One log line for a report. */
export function describeStalls(report: StallReport): string {
  return `stall: longest event-loop stall ${report.maxMs} ms, p99 ${report.p99Ms} ms ` +
    `(${report.samples} samples)`;
}
