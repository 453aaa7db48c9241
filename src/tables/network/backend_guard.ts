// What stands between a network table and its server: at most `poolSize` queries at once,
// a deadline on each (waiting for a connection included), and the server's health: once
// it is unreachable, lookups fail at once until a probe, spaced by exponential backoff,
// finds it back. Going away and coming back are each logged once.

import { errorMessage } from "../../mail/mod.ts";

/** Where a guard logs (the daemon's logger fits). */
export interface GuardLog {
  warn(line: string): void;
  info(line: string): void;
}

/** Options of {@link BackendGuard}. */
export interface BackendGuardOptions {
  /** The table's name, for log lines and errors. */
  readonly table: string;
  /** The backend and its server, for log lines: `postgres 127.0.0.1:5432`. */
  readonly server: string;
  /** Queries allowed at once: the size of the backend's connection pool. */
  readonly poolSize: number;
  /** The deadline of one query, waiting for a connection included. */
  readonly timeoutMs: number;
  /** True when a failure means the server cannot be reached (not a bad query). */
  readonly isUnreachable: (error: unknown) => boolean;
  readonly log?: GuardLog | undefined;
  /** The first wait before a probe after the server went away (default 250 ms). */
  readonly backoffMinMs?: number;
  /** The longest wait between probes (default 8 s). */
  readonly backoffMaxMs?: number;
  /**
   * Called when a probe of a server taken to be down does not answer by its deadline:
   * the server may be back while the client's own state is wedged (queries queued on
   * connections that went away), and the caller makes the client anew.
   */
  readonly onProbeTimeout?: () => void;
  readonly now?: () => number;
}

/** A lookup that failed for a reason that may pass: the caller answers 4xx. */
export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BackendUnavailableError";
  }
}

/** Bounds, times and watches the queries of one table's backend. */
export class BackendGuard {
  readonly #o: BackendGuardOptions;
  readonly #now: () => number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #down: { since: number; reason: string; retryAt: number; backoffMs: number } | undefined;
  #probing = false;

  constructor(options: BackendGuardOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** True while the server is taken to be unreachable. */
  get down(): boolean {
    return this.#down !== undefined;
  }

  /**
   * Runs one query under the pool bound and the deadline. The query gets a signal that
   * aborts at the deadline. Rejects with {@link BackendUnavailableError} when the server
   * is down, the deadline passes or the server cannot be reached.
   */
  async run<T>(query: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const down = this.#down;
    let probe = false;
    if (down) {
      if (this.#probing || this.#now() < down.retryAt) {
        throw new BackendUnavailableError(
          `Table "${this.#o.table}": ${this.#o.server} is unreachable: ${down.reason}`,
        );
      }
      this.#probing = probe = true;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new BackendUnavailableError(
          `Table "${this.#o.table}": ${this.#o.server} did not answer within ${this.#o.timeoutMs} ms`,
        );
        controller.abort(error);
        reject(error);
      }, this.#o.timeoutMs);
    });
    try {
      const result = await Promise.race([this.#withSlot(query, controller.signal), deadline]);
      this.#recovered();
      return result;
    } catch (error) {
      if (error instanceof BackendUnavailableError) {
        if (probe) {
          this.#wentAway(errorMessage(error));
          this.#o.onProbeTimeout?.();
        }
        throw error;
      }
      if (this.#o.isUnreachable(error)) {
        this.#wentAway(errorMessage(error));
        throw new BackendUnavailableError(
          `Table "${this.#o.table}": ${this.#o.server} is unreachable: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      if (probe) this.#recovered();
      throw new BackendUnavailableError(
        `Table "${this.#o.table}": ${this.#o.server} query failed: ${errorMessage(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      if (probe) this.#probing = false;
    }
  }

  async #withSlot<T>(query: (signal: AbortSignal) => Promise<T>, signal: AbortSignal) {
    while (this.#running >= this.#o.poolSize) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      if (signal.aborted) {
        // Pass the free slot on: this query gave up while waiting.
        this.#waiting.shift()?.();
        throw signal.reason;
      }
    }
    this.#running++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#waiting.shift()?.();
    };
    // A query that does not end when it is aborted (a driver still waiting on a connection
    // that went away) gives its slot back at the deadline all the same: otherwise a few
    // such queries fill the pool, and every later lookup and probe waits out its deadline
    // long after the server is back. Its late answer is dropped.
    signal.addEventListener("abort", release, { once: true });
    try {
      return await query(signal);
    } finally {
      signal.removeEventListener("abort", release);
      release();
    }
  }

  #wentAway(reason: string): void {
    const min = this.#o.backoffMinMs ?? 250;
    const max = this.#o.backoffMaxMs ?? 8_000;
    const previous = this.#down;
    const backoffMs = previous ? Math.min(previous.backoffMs * 2, max) : min;
    this.#down = {
      since: previous?.since ?? this.#now(),
      reason,
      retryAt: this.#now() + backoffMs,
      backoffMs,
    };
    if (!previous) {
      this.#o.log?.warn(
        `table: "${this.#o.table}": ${this.#o.server} went away: ${reason}; ` +
          `its lookups fail temporarily until it answers again`,
      );
    }
  }

  #recovered(): void {
    const down = this.#down;
    if (!down) return;
    this.#down = undefined;
    const seconds = ((this.#now() - down.since) / 1000).toFixed(1);
    this.#o.log?.info(`table: "${this.#o.table}": ${this.#o.server} is back after ${seconds}s`);
  }
}
