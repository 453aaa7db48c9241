// Latency histograms for the metrics endpoint (queue commit, delivery): cumulative buckets
// as Prometheus's text format wants them, with their sum and count.

/** Bucket bounds in seconds: a millisecond commit to an hour-long delivery. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  3600,
];

/** One histogram's state: counts by upper bound (not cumulative), sum and count. */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  /** `cumulative[i]`: observations ≤ bounds[i]. */
  readonly cumulative: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** A histogram of durations in seconds. */
export class Histogram {
  readonly bounds: readonly number[];
  #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS) {
    this.bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  /** Records one duration, in seconds. */
  observe(seconds: number): void {
    const index = this.bounds.findIndex((b) => seconds <= b);
    if (index >= 0) this.#counts[index]! += 1;
    this.#sum += seconds;
    this.#count += 1;
  }

  /** The buckets made cumulative, as exposed. */
  snapshot(): HistogramSnapshot {
    let running = 0;
    const cumulative = this.#counts.map((n) => running += n);
    return { bounds: this.bounds, cumulative, sum: this.#sum, count: this.#count };
  }
}

/** Histograms by name and label value (`delivery` by `agent`), created on first use. */
export class HistogramSet {
  #histograms = new Map<string, Histogram>();

  /** The histogram for `name` with this label value ("" for none). */
  get(name: string, label = ""): Histogram {
    const key = `${name}\u0000${label}`;
    let histogram = this.#histograms.get(key);
    if (!histogram) this.#histograms.set(key, histogram = new Histogram());
    return histogram;
  }

  /** Every histogram: name, label value, state; sorted. */
  snapshot(): { name: string; label: string; state: HistogramSnapshot }[] {
    return [...this.#histograms].sort(([a], [b]) => a < b ? -1 : 1).map(([key, h]) => {
      const [name, label] = key.split("\u0000") as [string, string];
      return { name, label, state: h.snapshot() };
    });
  }
}
