// The layout of the queue file — a row per message, a row per envelope, a key-value
// table for the encryption check — and the migrations from older layouts, applied when
// the file is opened. What is read and written in it lives in the other sqlite_* files.

import { DatabaseSync } from "node:sqlite";
import { DEFAULTS } from "../config/mod.ts";
import { retryWhileBusy, rollback } from "./sqlite_errors.ts";

const SCHEMA_VERSION = 5;

const ENVELOPES_TABLE = `
CREATE TABLE IF NOT EXISTS envelopes (
  evpid TEXT PRIMARY KEY,
  msgid TEXT NOT NULL REFERENCES messages(msgid),
  rcpt TEXT NOT NULL,
  action TEXT NOT NULL,
  user TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'failed', 'delivered')),
  created_at INTEGER NOT NULL,
  next_try INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  dsn_notify TEXT,
  dsn_orcpt TEXT,
  expires_at INTEGER NOT NULL DEFAULT 0,
  warned INTEGER NOT NULL DEFAULT 0,
  last_try INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0,
  dest TEXT,
  target TEXT,
  hops INTEGER NOT NULL DEFAULT 0,
  paused INTEGER NOT NULL DEFAULT 0,
  expanded TEXT
) STRICT;`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  msgid TEXT PRIMARY KEY,
  sender TEXT NOT NULL,
  helo TEXT NOT NULL,
  src TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  content BLOB NOT NULL,
  dsn_ret TEXT,
  dsn_envid TEXT,
  smtputf8 INTEGER NOT NULL DEFAULT 0
) STRICT;
${ENVELOPES_TABLE}
CREATE INDEX IF NOT EXISTS envelopes_due ON envelopes(state, next_try);
CREATE INDEX IF NOT EXISTS envelopes_msgid ON envelopes(msgid);
CREATE TABLE IF NOT EXISTS queue_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
`;

// Version 2 adds the DSN parameters (RFC 3461) and the SMTPUTF8 flag.
const MIGRATE_1_TO_2 = `
ALTER TABLE messages ADD COLUMN dsn_ret TEXT;
ALTER TABLE messages ADD COLUMN dsn_envid TEXT;
ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE envelopes ADD COLUMN dsn_notify TEXT;
ALTER TABLE envelopes ADD COLUMN dsn_orcpt TEXT;
`;

// Version 3 adds expiry, warnings, leases, expansion results and the 'delivered' state. SQLite cannot
// change a CHECK constraint in place, so the envelopes table is rebuilt.
const MIGRATE_2_TO_3 = `
ALTER TABLE envelopes RENAME TO envelopes_v2;
DROP INDEX IF EXISTS envelopes_due;
DROP INDEX IF EXISTS envelopes_msgid;
${ENVELOPES_TABLE}
INSERT INTO envelopes (evpid, msgid, rcpt, action, user, state, created_at, next_try, attempts,
  last_error, dsn_notify, dsn_orcpt, expires_at)
  SELECT evpid, msgid, rcpt, action, user, state, created_at, next_try, attempts, last_error,
    dsn_notify, dsn_orcpt, created_at + ${DEFAULTS.queueTtl * 1000} FROM envelopes_v2;
DROP TABLE envelopes_v2;
`;

// Version 4 adds `smtpctl pause envelope`: a paused envelope is never picked as due.
const MIGRATE_3_TO_4 = "ALTER TABLE envelopes ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;";

// Version 5 keeps, with an expansion's envelopes, what their original recipient's expansion
// went through already (a .forward loop is cut there, not by the depth limit).
const MIGRATE_4_TO_5 = "ALTER TABLE envelopes ADD COLUMN expanded TEXT;";

/** How long one statement waits for another process's lock before SQLite gives up, ms. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** How long opening the file keeps trying while other processes hold it busy, ms. */
const OPEN_DEADLINE_MS = 120_000;

/**
 * Opens the queue file (WAL, synchronous=FULL), creating its tables or migrating them
 * from an older version; a file newer than this build is refused. Every statement waits
 * up to `busyTimeoutMs` for a lock another process holds, and opening keeps trying while
 * the file stays busy (many `sendmail` runs at once).
 */
export function openQueueDatabase(
  path: string,
  busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS,
): DatabaseSync {
  // The timeout is set before the first statement: switching to WAL may wait too.
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  try {
    retryWhileBusy(() => prepareSchema(db, path), OPEN_DEADLINE_MS);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function prepareSchema(db: DatabaseSync, path: string): void {
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  // A current file is only read here: opening it takes no write lock.
  if (schemaVersion(db, path) === SCHEMA_VERSION) return;
  // One transaction, so that a process that waited finds the work done, and a failed
  // migration leaves the file as it was.
  db.exec("BEGIN IMMEDIATE");
  try {
    const version = schemaVersion(db, path);
    if (version === 1) db.exec(MIGRATE_1_TO_2);
    if (version === 1 || version === 2) db.exec(MIGRATE_2_TO_3);
    if (version === 3) db.exec(MIGRATE_3_TO_4);
    if (version === 3 || version === 4) db.exec(MIGRATE_4_TO_5);
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    rollback(db);
    throw error;
  }
}

function schemaVersion(db: DatabaseSync, path: string): number {
  const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (version > SCHEMA_VERSION) {
    throw new Error(`Queue "${path}" has schema version ${version}, newer than this build's`);
  }
  return version;
}
