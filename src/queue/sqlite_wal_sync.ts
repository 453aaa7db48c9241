// Making a commit durable without holding the event loop: the queue file's connection
// commits with synchronous=NORMAL (the frames reach the write-ahead log, no fsync), and
// the log is then fdatasync'ed in the runtime's I/O threads before anyone is told the
// commit is durable. Commits made while one sync runs share the next one.

/**
 * The fdatasync of a queue file's write-ahead log. SQLite in WAL mode with
 * synchronous=NORMAL syncs the log before each checkpoint and the database after it
 * (sqlite.org/pragma.html#pragma_synchronous), so once the log is synced after a commit,
 * that commit survives a power cut as it would with synchronous=FULL.
 */
export class WalSync {
  #file: Deno.FsFile;
  #waiting: (() => void)[] = [];
  #failing: ((error: unknown) => void)[] = [];
  /** The group whose sync is under way. */
  #inflight: { resolve: (() => void)[]; reject: ((error: unknown) => void)[] } | undefined;
  #closed = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Opens the log of an open database file; undefined when there is none (the file is
   * not in WAL mode). The caller's connection stays open while this is used: SQLite
   * removes the log only when the last connection closes, so it stays the same file.
   */
  static open(dbPath: string): WalSync | undefined {
    try {
      return new WalSync(Deno.openSync(`${dbPath}-wal`, { read: true }));
    } catch {
      return undefined;
    }
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The queue is closed"));
    return new Promise((resolve, reject) => {
      this.#waiting.push(resolve);
      this.#failing.push(reject);
      this.#next();
    });
  }

  /** Syncs what is still waiting or under way (blocking), then closes the log's descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiting = this.#take();
    if (this.#inflight) {
      waiting.resolve.push(...this.#inflight.resolve);
      waiting.reject.push(...this.#inflight.reject);
    }
    try {
      if (waiting.resolve.length > 0) this.#file.syncDataSync();
      for (const resolve of waiting.resolve) resolve();
    } catch (error) {
      for (const reject of waiting.reject) reject(error);
    }
    this.#file.close();
  }

  // One sync at a time: a sync that started before a commit does not cover it.
  #next(): void {
    if (this.#inflight || this.#waiting.length === 0 || this.#closed) return;
    const group = this.#take();
    this.#inflight = group;
    // After close() the group is settled already; a late answer changes nothing.
    this.#file.syncData().then(
      () => group.resolve.forEach((resolve) => resolve()),
      (error) => group.reject.forEach((reject) => reject(error)),
    ).finally(() => {
      this.#inflight = undefined;
      this.#next();
    });
  }

  #take(): { resolve: (() => void)[]; reject: ((error: unknown) => void)[] } {
    const group = { resolve: this.#waiting, reject: this.#failing };
    this.#waiting = [];
    this.#failing = [];
    return group;
  }
}
