// What a failed SQLite call means for the queue: the file is busy (another process holds
// the write lock: wait and try again), the disk is full or failing (keep what is there,
// try again later), or something else. node:sqlite gives only the message text.

import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../mail/mod.ts";

/** Why a queue write failed, as far as retrying goes. */
export type QueueFault = "busy" | "full" | "io" | "other";

// sqlite3_errstr() texts of SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL and SQLITE_IOERR.
const BUSY_REGEXP = /database (table )?is locked|database is busy/;
const FULL_REGEXP = /database or disk is full|no space left on device/i;
const IO_REGEXP = /disk I\/O error|unable to open database file/;

/** Classifies an error thrown by node:sqlite. */
export function queueFault(error: unknown): QueueFault {
  const message = errorMessage(error);
  if (BUSY_REGEXP.test(message)) return "busy";
  if (FULL_REGEXP.test(message)) return "full";
  if (IO_REGEXP.test(message)) return "io";
  return "other";
}

/** Whether a commit failed on a message id (or an envelope id) already in the file. */
export function isTakenId(error: unknown): boolean {
  return /UNIQUE constraint failed: (messages\.msgid|envelopes\.evpid)/.test(errorMessage(error));
}

/** Whether the error is SQLITE_BUSY: another process holds the lock past the busy timeout. */
export function isBusy(error: unknown): boolean {
  return queueFault(error) === "busy";
}

/**
 * Runs a synchronous SQLite step, trying again while the file stays busy, until the
 * deadline; for opening the file and other steps that may block (start-up, commands).
 */
export function retryWhileBusy<T>(step: () => T, deadlineMs: number): T {
  const deadline = Date.now() + deadlineMs;
  while (true) {
    try {
      return step();
    } catch (error) {
      // Each try already waited the busy timeout inside SQLite.
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
  }
}

/** Ends the connection's transaction, if SQLite has not ended it already. */
export function rollback(db: DatabaseSync): void {
  if (!db.isTransaction) return;
  try {
    db.exec("ROLLBACK");
  } catch {
    // SQLite ended it itself (after SQLITE_FULL or an I/O error).
  }
}
