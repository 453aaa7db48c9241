// Seeded, reproducible fuzzing: every case draws from its own PRNG seeded by (run seed, case
// number), so a failure is replayed exactly with FUZZ_SEED and FUZZ_CASE.

/** A small, fast PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seed of one case, derived from the run's seed and the case number. */
export function caseSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
}

/** What a fuzz run found. */
export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  readonly cases: number;
  readonly failures: readonly { readonly index: number; readonly error: string }[];
  readonly slowestMs: number;
  readonly slowestIndex: number;
}

/**
 * Options of a run: FUZZ_SEED, FUZZ_CASES and FUZZ_CASE in the environment override them;
 * FUZZ_FROM starts the cases at that index (to rerun a range of a long run).
 */
export interface FuzzOptions {
  readonly seed?: number;
  readonly cases: number;
  /** Stop after this many failures (default 1). */
  readonly maxFailures?: number;
  /**
   * Cases run at once (default 1), for targets that wait on a peer (a daemon over a socket).
   * Each case still draws only from its own Random, so a replay is the same.
   */
  readonly concurrency?: number;
}

/**
 * Runs `body` for each case with its own `Random`. A case fails when `body` throws or
 * rejects; the report names the run seed and the case so `FUZZ_SEED=… FUZZ_CASE=…` replays it.
 */
export async function fuzz(
  target: string,
  options: FuzzOptions,
  body: (random: Random, index: number) => void | Promise<void>,
): Promise<FuzzReport> {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const seed = Number(env("FUZZ_SEED") ?? options.seed ?? Date.now() % 2 ** 31);
  const only = env("FUZZ_CASE");
  const cases = Number(env("FUZZ_CASES") ?? options.cases);
  const from = Number(env("FUZZ_FROM") ?? 0);
  const indexes = only !== undefined
    ? [Number(only)]
    : Array.from({ length: cases }, (_, i) => from + i);
  const failures: { index: number; error: string }[] = [];
  let slowestMs = 0;
  let slowestIndex = 0;
  let next = 0;
  const runCases = async () => {
    while (next < indexes.length && failures.length < (options.maxFailures ?? 1)) {
      const index = indexes[next++]!;
      const started = performance.now();
      try {
        await body(new Random(caseSeed(seed, index)), index);
      } catch (error) {
        const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push({ index, error: text });
      }
      const took = performance.now() - started;
      if (took > slowestMs) [slowestMs, slowestIndex] = [took, index];
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, runCases));
  failures.sort((a, b) => a.index - b.index);
  return { target, seed, cases: indexes.length, failures, slowestMs, slowestIndex };
}

/** Throws with the replay command when a report has failures. */
export function assertNoFailures(report: FuzzReport): void {
  if (report.failures.length === 0) return;
  const first = report.failures[0]!;
  throw new Error(
    `${report.target}: case ${first.index} failed (replay with FUZZ_SEED=${report.seed} ` +
      `FUZZ_CASE=${first.index}):\n${first.error}`,
  );
}
