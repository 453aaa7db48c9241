// How much message data the sessions of this process may hold at once. A session keeps its
// message in memory until the queue has committed it, so without a shared bound many
// clients sending large messages at once could make the process as big as they like.

/**
 * The message data all sessions of a process may hold at once: 64 MiB, one message of the
 * default `max-message-size` (35 MB) and many smaller ones beside it, which keeps the SMTP
 * front under 200 MB. A larger `max-message-size` raises it to that size for its sessions,
 * so one message of the largest size accepted always fits.
 */
export const DATA_BUDGET_BYTES = 64 * 1024 * 1024;

/** Bytes of message data held, counted against one bound; O(1) per chunk. */
export class DataBudget {
  readonly limit: number;
  #held = 0;

  constructor(limit: number = DATA_BUDGET_BYTES) {
    this.limit = limit;
  }

  /** Bytes held now, by every session that counts against this budget. */
  get held(): number {
    return this.#held;
  }

  /**
   * Counts `bytes` more, unless that goes past the budget (or past `atLeast`, when that is
   * larger: a session's own largest message). False, and nothing counted, when it would.
   */
  reserve(bytes: number, atLeast = 0): boolean {
    if (this.#held + bytes > Math.max(this.limit, atLeast)) return false;
    this.#held += bytes;
    return true;
  }

  /** Gives back bytes counted by {@link reserve}. */
  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

/** The budget of every session of this process that is not given one of its own. */
export const PROCESS_DATA_BUDGET = new DataBudget();
