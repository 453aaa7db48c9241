// A restartable deadline for a session: it fires once its time has passed since the last
// restart. Restarting only records the time (one timer, re-armed lazily when it wakes early),
// so input chunks and replies can restart it cheaply.

/** Calls `onExpire` once `ms` pass without a {@link restart}; 0 turns it off. */
export class Deadline {
  #ms = 0;
  #since = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #onExpire: () => void;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** The current allowance in milliseconds. */
  get ms(): number {
    return this.#ms;
  }

  /** Sets a new allowance, counted from now. */
  set(ms: number): void {
    // A timer armed for an allowance no longer than this one wakes before the new one
    // ends, and then waits the rest (a session changes allowance twice per message: the
    // timer is kept). A shorter allowance must not wait for a timer armed for a longer one.
    const shorter = ms < this.#ms;
    this.#ms = ms;
    if (this.#timer !== undefined && shorter) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.restart();
  }

  /** Counts the allowance from now. */
  restart(): void {
    this.#since = Date.now();
    if (this.#timer === undefined && this.#ms > 0 && !this.#stopped) this.#arm(this.#ms);
  }

  /** Turns the deadline off for good (the connection is gone). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || this.#ms <= 0) return;
      const left = this.#since + this.#ms - Date.now();
      if (left > 0) return this.#arm(left);
      this.#onExpire();
    }, delay);
  }
}
