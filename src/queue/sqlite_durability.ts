// How a queue file's commits are made durable and its log kept short: the log's own
// fdatasync after COMMIT (sqlite_wal_sync.ts) and, in a long-running writer (the daemon),
// checkpoints in a worker thread (sqlite_checkpointer.ts).

import type { DatabaseSync } from "node:sqlite";
import { BackgroundCheckpointer } from "./sqlite_checkpointer.ts";
import { WalSync } from "./sqlite_wal_sync.ts";

/**
 * With background checkpoints, the log size (pages) past which a commit checkpoints
 * itself: a burst the worker cannot keep up with still ends, and the log starts over.
 */
const FOREGROUND_CHECKPOINT_PAGES = 4000;

/** What the group commit is given, and what closes with the queue. */
export interface QueueDurability {
  /** The log's sync; absent when the file has no log (then SQLite's own fsync is used). */
  readonly walSync?: WalSync;
  /** Told of every commit (the background checkpointer). */
  readonly onCommitted?: () => void;
  /** Settles waiting syncs, then ends the checkpointer. */
  close(): void;
  /**
   * Resolves once nothing touches the file any more: the checkpointer's thread has ended
   * (a thread still opening the file would create its -wal and -shm again), or after 5 s.
   */
  readonly ended: Promise<void>;
}

const THREAD_END_WAIT_MS = 5_000;

/** Sets up the durability of an open queue file; `background`: checkpoint in a worker. */
export function openDurability(
  db: DatabaseSync,
  path: string,
  background: boolean,
): QueueDurability {
  const walSync = WalSync.open(path);
  let checkpointer: BackgroundCheckpointer | undefined;
  if (walSync && background) {
    checkpointer = BackgroundCheckpointer.start(path);
    db.exec(`PRAGMA wal_autocheckpoint=${FOREGROUND_CHECKPOINT_PAGES}`);
  }
  return {
    ...(walSync ? { walSync } : {}),
    ...(checkpointer ? { onCommitted: () => checkpointer.committed() } : {}),
    close() {
      walSync?.close();
      checkpointer?.close();
    },
    ended: checkpointer ? boundedWait(checkpointer.ended, THREAD_END_WAIT_MS) : Promise.resolve(),
  };
}

function boundedWait(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const over = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([promise, over]).finally(() => clearTimeout(timer));
}
