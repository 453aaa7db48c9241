// The optional short-lived cache of a network table (off unless its configuration sets
// `cache_ttl`): answers that arrived, kept for the TTL; errors are never kept.

/** A TTL cache of query answers, by service and key. */
export class AnswerCache<V> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: V; expires: number }>();
  // Bounded so a flood of distinct keys cannot grow it without end.
  readonly #maxEntries: number;

  constructor(ttlMs: number, options: { now?: () => number; maxEntries?: number } = {}) {
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** The value stored for the key while it is fresh. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > this.#now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keeps a value for the TTL. */
  set(key: string, value: V): void {
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + this.#ttlMs });
  }

  /** Forgets everything (`smtpctl update table`, SIGHUP). */
  clear(): void {
    this.#entries.clear();
  }
}
