// WAL checkpoints of the daemon's queue file, off the event loop: a worker thread with a
// connection of its own copies the write-ahead log into the file (and fsyncs it), so no
// commit on the hot path pays for a checkpoint. The daemon's connection turns its own
// automatic checkpoints off while this runs.

/** How often the log's size is looked at while commits come in, ms. */
const CHECKPOINT_INTERVAL_MS = 200;

/**
 * The log's size from which it is checkpointed: SQLite's own default (1,000 pages of
 * 4 KiB). Below it the log only grows, as it does under SQLite's own checkpoints, so a
 * full disk fails a commit as it did; past it the log is copied and then reused.
 */
const CHECKPOINT_LOG_BYTES = 1000 * 4096;

/** A background checkpointer of one queue file. */
export class BackgroundCheckpointer {
  #worker: Worker;
  #log: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Resolves once the worker thread has ended: closed, or unable to open the file. */
  readonly ended: Promise<void>;

  private constructor(worker: Worker, log: string) {
    this.#worker = worker;
    this.#log = log;
    this.ended = new Promise((resolve) => {
      worker.onmessage = (event) => {
        if (event.data === "ended") resolve();
      };
    });
  }

  /**
   * Starts the worker for a queue file. The worker's code is a blob URL, not a module
   * file: it needs no read permission of its own and is part of a compiled executable.
   */
  static start(path: string): BackgroundCheckpointer {
    const source = `(${checkpointerThread.toString()})(${JSON.stringify(path)});`;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    try {
      const worker = new Worker(url, { type: "module" });
      // A checkpointer that fails (its file removed before it opened, say) only means no
      // background checkpoints: the daemon's own close still checkpoints. Never fatal.
      worker.onerror = (event) => event.preventDefault();
      return new BackgroundCheckpointer(worker, `${path}-wal`);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  /** Notes a commit: a checkpoint follows within the interval if the log is large. */
  committed(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#logBytes() >= CHECKPOINT_LOG_BYTES) this.#worker.postMessage("checkpoint");
    }, CHECKPOINT_INTERVAL_MS);
  }

  #logBytes(): number {
    try {
      return Deno.statSync(this.#log).size;
    } catch {
      return 0;
    }
  }

  /** Ends the worker; its connection closes after any checkpoint under way. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#worker.postMessage("close");
  }
}

// The worker thread's code (serialized, so it imports nothing at the top). PASSIVE never
// waits for the daemon's readers or writers; what it cannot copy now is copied next time.
function checkpointerThread(path: string): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
    close(): void;
  };
  const opening = import("node:sqlite").then(({ DatabaseSync }) => {
    const db = new DatabaseSync(path, { timeout: 0 });
    db.exec("PRAGMA wal_autocheckpoint=0");
    return db;
  });
  const end = () => {
    scope.postMessage("ended");
    scope.close();
  };
  // A file that cannot be opened ends the thread now, whether or not a message came yet.
  opening.catch(end);
  scope.onmessage = (event) => {
    void opening.then((db) => {
      if (event.data === "close") {
        db.close();
        end();
        return;
      }
      try {
        db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      } catch {
        // Busy or failing: the next commit asks again, and the daemon's own close checkpoints.
      }
    }, () => {});
  };
}
