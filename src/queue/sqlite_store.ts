// The queue's only durable state: one SQLite file (WAL, synchronous=FULL) with a row per
// message and a row per envelope. Every write of one event-loop turn — new messages and
// delivery results alike — goes into one transaction with one fsync (group commit).

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Logger } from "../log/mod.ts";
import type { NewMessage, QueuedEnvelope } from "./envelope.ts";

/** What the queue holds, by envelope state. */
export interface QueueStats {
  readonly messages: number;
  readonly queued: number;
  readonly failed: number;
  /** Transactions committed since the queue was opened (group commits count once). */
  readonly commits: number;
}

/** Called with the envelopes of messages just committed, and their content. */
export type CommitListener = (envelopes: readonly QueuedEnvelope[], content: Uint8Array) => void;

const SCHEMA_VERSION = 2;

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
CREATE TABLE IF NOT EXISTS envelopes (
  evpid TEXT PRIMARY KEY,
  msgid TEXT NOT NULL REFERENCES messages(msgid),
  rcpt TEXT NOT NULL,
  action TEXT NOT NULL,
  user TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'failed')),
  created_at INTEGER NOT NULL,
  next_try INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  dsn_notify TEXT,
  dsn_orcpt TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS envelopes_due ON envelopes(state, next_try);
CREATE INDEX IF NOT EXISTS envelopes_msgid ON envelopes(msgid);
`;

// Version 2 adds the DSN parameters (RFC 3461) and the SMTPUTF8 flag.
const MIGRATE_1_TO_2 = `
ALTER TABLE messages ADD COLUMN dsn_ret TEXT;
ALTER TABLE messages ADD COLUMN dsn_envid TEXT;
ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE envelopes ADD COLUMN dsn_notify TEXT;
ALTER TABLE envelopes ADD COLUMN dsn_orcpt TEXT;
`;

type Write =
  | { kind: "message"; message: NewMessage; msgid: string; envelopes: QueuedEnvelope[] }
  | { kind: "delivered"; envelope: QueuedEnvelope }
  | { kind: "deferred"; envelope: QueuedEnvelope; nextTry: number; error: string }
  | { kind: "failed"; envelope: QueuedEnvelope; error: string };

interface PendingWrite {
  write: Write;
  resolve(): void;
  reject(error: unknown): void;
}

/** Options of {@link openQueue}. */
export interface QueueOptions {
  readonly log?: Logger;
  /** Current time in Unix milliseconds (tests pass a manual clock). */
  readonly now?: () => number;
}

/** Opens (creating if needed) the queue in a directory. */
export function openQueue(dir: string, options: QueueOptions = {}): Queue {
  Deno.mkdirSync(dir, { recursive: true });
  return new Queue(`${dir}/queue.sqlite`, options);
}

/** The SQLite queue. */
export class Queue {
  readonly path: string;
  #db: DatabaseSync;
  #now: () => number;
  #pending: PendingWrite[] = [];
  #urgentScheduled = false;
  #lazyScheduled = false;
  #commits = 0;
  #listeners: CommitListener[] = [];
  #closed = false;
  #stmt: Record<
    | "insertMessage"
    | "insertEnvelope"
    | "deleteEnvelope"
    | "deleteMessageIfDone"
    | "defer"
    | "fail"
    | "due"
    | "content"
    | "nextTry"
    | "all",
    StatementSync
  >;

  constructor(path: string, options: QueueOptions = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
    const version = (this.#db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version > SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`Queue "${path}" has schema version ${version}, newer than this build's`);
    }
    if (version === 1) this.#db.exec(MIGRATE_1_TO_2);
    this.#db.exec(SCHEMA);
    this.#db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
    const db = this.#db;
    this.#stmt = {
      insertMessage: db.prepare(
        "INSERT INTO messages (msgid, sender, helo, src, created_at, size, content, dsn_ret, dsn_envid, smtputf8) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      insertEnvelope: db.prepare(
        "INSERT INTO envelopes (evpid, msgid, rcpt, action, user, state, created_at, next_try, dsn_notify, dsn_orcpt) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
      ),
      deleteEnvelope: db.prepare("DELETE FROM envelopes WHERE evpid = ?"),
      deleteMessageIfDone: db.prepare(
        "DELETE FROM messages WHERE msgid = ? AND NOT EXISTS (SELECT 1 FROM envelopes WHERE msgid = ?)",
      ),
      defer: db.prepare(
        "UPDATE envelopes SET next_try = ?, attempts = attempts + 1, last_error = ? WHERE evpid = ?",
      ),
      fail: db.prepare(
        "UPDATE envelopes SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE evpid = ?",
      ),
      due: db.prepare(
        "SELECT e.evpid, e.msgid, m.sender, e.rcpt, e.action, e.user, e.created_at, e.attempts, e.last_error, e.dsn_notify, e.dsn_orcpt FROM envelopes e JOIN messages m USING (msgid) WHERE e.state = 'queued' AND e.next_try <= ? ORDER BY e.next_try LIMIT ?",
      ),
      content: db.prepare("SELECT content FROM messages WHERE msgid = ?"),
      nextTry: db.prepare("SELECT min(next_try) AS at FROM envelopes WHERE state = 'queued'"),
      all: db.prepare(
        "SELECT e.evpid, e.msgid, m.sender, e.rcpt, e.action, e.user, e.created_at, e.attempts, e.last_error, e.dsn_notify, e.dsn_orcpt, e.state, e.next_try FROM envelopes e JOIN messages m USING (msgid) ORDER BY e.created_at, e.evpid",
      ),
    };
  }

  /**
   * Commits a message and its envelopes. Resolves with the message id once the
   * transaction holding it is durable; rejects if it could not be written.
   */
  commit(message: NewMessage): Promise<string> {
    const msgid = message.msgid ?? randomHex(4);
    const now = this.#now();
    const envelopes = message.envelopes.map((e): QueuedEnvelope => ({
      evpid: msgid + randomHex(4),
      msgid,
      sender: message.sender,
      rcpt: e.rcpt,
      action: e.action,
      ...(e.user === undefined ? {} : { user: e.user }),
      ...(e.dsnNotify === undefined ? {} : { dsnNotify: e.dsnNotify }),
      ...(e.dsnOrcpt === undefined ? {} : { dsnOrcpt: e.dsnOrcpt }),
      createdAt: now,
      attempts: 0,
    }));
    return this.#enqueue({ kind: "message", message, msgid, envelopes }).then(() => {
      for (const listener of this.#listeners) listener(envelopes, message.content);
      return msgid;
    });
  }

  /** Records a successful delivery; the message goes once no envelope is left. */
  markDelivered(envelope: QueuedEnvelope): Promise<void> {
    return this.#enqueue({ kind: "delivered", envelope });
  }

  /** Records a temporary failure and when to try again. */
  markDeferred(envelope: QueuedEnvelope, nextTry: number, error: string): Promise<void> {
    return this.#enqueue({ kind: "deferred", envelope, nextTry, error });
  }

  /** Records a permanent failure (kept for the bounce). */
  markFailed(envelope: QueuedEnvelope, error: string): Promise<void> {
    return this.#enqueue({ kind: "failed", envelope, error });
  }

  /** Queued envelopes due at `now`, oldest due first. */
  due(now: number, limit: number): QueuedEnvelope[] {
    return (this.#stmt.due.all(now, limit) as unknown as Row[]).map(toEnvelope);
  }

  /** When the earliest queued envelope is due, if any is queued. */
  nextTry(): number | undefined {
    return (this.#stmt.nextTry.get() as { at: number | null }).at ?? undefined;
  }

  /** Every envelope with its state and next try (for listings and tests). */
  envelopes(): (QueuedEnvelope & { state: "queued" | "failed"; nextTry: number })[] {
    return (this.#stmt.all
      .all() as unknown as (Row & { state: "queued" | "failed"; next_try: number })[])
      .map((row) => ({ ...toEnvelope(row), state: row.state, nextTry: row.next_try }));
  }

  /** The stored message, Received: header first. */
  content(msgid: string): Uint8Array | undefined {
    const row = this.#stmt.content.get(msgid) as { content: Uint8Array } | undefined;
    return row?.content;
  }

  /** Calls the listener after every durable commit of a new message. */
  onCommit(listener: CommitListener): void {
    this.#listeners.push(listener);
  }

  /** Counts by state. */
  stats(): QueueStats {
    const rows = this.#db.prepare("SELECT state, count(*) AS n FROM envelopes GROUP BY state")
      .all() as { state: string; n: number }[];
    const messages = (this.#db.prepare("SELECT count(*) AS n FROM messages").get() as { n: number })
      .n;
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { messages, queued: count("queued"), failed: count("failed"), commits: this.#commits };
  }

  /** Writes what is pending, then closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  // New messages are flushed in the next task: a client waits for that 250. Delivery
  // results can wait a timer tick, so that many of them share one transaction.
  #enqueue(write: Write): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The queue is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ write, resolve, reject });
      if (write.kind === "message") {
        if (!this.#urgentScheduled) {
          this.#urgentScheduled = true;
          nextTask(() => this.#flush());
        }
      } else if (!this.#lazyScheduled) {
        this.#lazyScheduled = true;
        setTimeout(() => {
          this.#lazyScheduled = false;
          this.#flush();
        }, 0);
      }
    });
  }

  #flush(): void {
    this.#urgentScheduled = false;
    const batch = this.#pending;
    if (batch.length === 0 || this.#closed) return;
    this.#pending = [];
    // Each write has its own savepoint, so one bad write (a duplicate id) fails alone.
    const failures = new Map<PendingWrite, unknown>();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const p of batch) {
          this.#db.exec("SAVEPOINT w");
          try {
            this.#apply(p.write);
            this.#db.exec("RELEASE w");
          } catch (error) {
            this.#db.exec("ROLLBACK TO w; RELEASE w");
            failures.set(p, error);
          }
        }
        this.#db.exec("COMMIT");
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    this.#commits++;
    for (const p of batch) {
      if (failures.has(p)) p.reject(failures.get(p));
      else p.resolve();
    }
  }

  #apply(write: Write): void {
    const s = this.#stmt;
    switch (write.kind) {
      case "message": {
        const m = write.message;
        const now = this.#now();
        s.insertMessage.run(
          write.msgid,
          m.sender,
          m.helo,
          m.src,
          now,
          m.content.byteLength,
          m.content,
          m.dsnRet ?? null,
          m.dsnEnvid ?? null,
          m.smtputf8 ? 1 : 0,
        );
        for (const e of write.envelopes) {
          s.insertEnvelope.run(
            e.evpid,
            e.msgid,
            e.rcpt,
            e.action,
            e.user ?? null,
            now,
            now,
            e.dsnNotify?.join(",") ?? null,
            e.dsnOrcpt ?? null,
          );
        }
        return;
      }
      case "delivered":
        s.deleteEnvelope.run(write.envelope.evpid);
        s.deleteMessageIfDone.run(write.envelope.msgid, write.envelope.msgid);
        return;
      case "deferred":
        s.defer.run(write.nextTry, write.error, write.envelope.evpid);
        return;
      case "failed":
        s.fail.run(write.error, write.envelope.evpid);
        return;
    }
  }
}

interface Row {
  evpid: string;
  msgid: string;
  sender: string;
  rcpt: string;
  action: string;
  user: string | null;
  created_at: number;
  attempts: number;
  last_error: string | null;
  dsn_notify: string | null;
  dsn_orcpt: string | null;
}

function toEnvelope(row: Row): QueuedEnvelope {
  return {
    evpid: row.evpid,
    msgid: row.msgid,
    sender: row.sender,
    rcpt: row.rcpt,
    action: row.action,
    ...(row.user === null ? {} : { user: row.user }),
    createdAt: row.created_at,
    attempts: row.attempts,
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.dsn_notify === null ? {} : { dsnNotify: row.dsn_notify.split(",") }),
    ...(row.dsn_orcpt === null ? {} : { dsnOrcpt: row.dsn_orcpt }),
  };
}

// Runs a function as a new task, after the tasks already queued. (setImmediate waits for
// unrelated I/O in this runtime, and setTimeout(0) for a whole timer tick.) The channel
// exists only while a task is pending, so it never keeps an idle process alive.
const taskQueue: (() => void)[] = [];
let taskChannel: MessageChannel | undefined;

function nextTask(fn: () => void): void {
  taskQueue.push(fn);
  if (taskChannel) return;
  const channel = new MessageChannel();
  taskChannel = channel;
  channel.port1.onmessage = () => {
    taskChannel = undefined;
    channel.port1.close();
    channel.port2.close();
    for (const task of taskQueue.splice(0)) task();
  };
  channel.port2.postMessage(0);
}

/** Random hex digits from the system's CSPRNG. */
export function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of data) out += b.toString(16).padStart(2, "0");
  return out;
}
