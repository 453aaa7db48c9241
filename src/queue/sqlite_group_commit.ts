// Every write to the queue file — new messages and delivery results alike — made in one
// event-loop turn goes into one transaction with one fsync (group commit), each write in
// its own savepoint so that one bad write fails alone. The fsync is SQLite's own, or
// that of the log after COMMIT, in the I/O threads (sqlite_wal_sync.ts). A busy file (another process
// writing) makes the batch wait its turn; a full disk or an I/O error fails it whole.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { errorMessage } from "../mail/mod.ts";
import type { NewMessage, QueuedEnvelope } from "./envelope.ts";
import { isBusy, rollback } from "./sqlite_errors.ts";

/** One change to the queue file. */
export type QueueWrite =
  | {
    kind: "message";
    message: NewMessage;
    msgid: string;
    envelopes: QueuedEnvelope[];
    /** The body as stored (encoded), and the codec flags it was stored with. */
    stored: Uint8Array;
    flags: number;
    /** Envelopes whose report this message is: removed in the same transaction. */
    consumes: readonly QueuedEnvelope[];
  }
  | { kind: "delivered"; envelope: QueuedEnvelope; keepForReport: boolean; relayed?: boolean }
  | {
    kind: "deferred";
    envelope: QueuedEnvelope;
    nextTry: number;
    error: string;
    warned: number;
    /** False for an envelope held back without a try: its attempt count stays. */
    attempted: boolean;
  }
  | { kind: "failed"; envelope: QueuedEnvelope; error: string }
  | { kind: "removed"; envelopes: readonly QueuedEnvelope[] }
  | { kind: "expanded"; envelope: QueuedEnvelope; children: readonly QueuedEnvelope[] };

interface PendingWrite {
  write: QueueWrite;
  /** When it was asked for (real time), for the busy deadline. */
  since: number;
  committed: (() => void) | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/** What makes a committed transaction durable: the log's fdatasync (sqlite_wal_sync.ts). */
export interface LogSync {
  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void>;
}

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  readonly now: () => number;
  /** The lease new envelopes are written with, if any (a daemon delivers what it receives). */
  readonly newLease: (now: number) => { owner: string; until: number } | undefined;
  /** How long a write waits, in all, for a file other processes keep busy (2 minutes). */
  readonly busyDeadlineMs?: number;
  /**
   * The log's sync, when commits are made durable by it rather than by SQLite's own
   * fsync inside COMMIT (which holds the event loop for the length of the fsync).
   */
  readonly walSync?: LogSync;
  /** Called after every committed transaction. */
  readonly onCommitted?: () => void;
}

const DEFAULT_BUSY_DEADLINE_MS = 120_000;

const queueClosed = () => new Error("The queue is closed");
/** Pause between tries on a busy file, ms: the event loop runs meanwhile. */
const BUSY_RETRY_MS = 50;

/** The writer of the queue file: batches writes, commits them, settles their promises. */
export class GroupCommit {
  #db: DatabaseSync;
  #now: () => number;
  #newLease: GroupCommitOptions["newLease"];
  #busyDeadlineMs: number;
  #pending: PendingWrite[] = [];
  #urgentScheduled = false;
  #lazyScheduled = false;
  #busyRetry: ReturnType<typeof setTimeout> | undefined;
  #closing = false;
  #commits = 0;
  #closed = false;
  #fullSync = true;
  #walSync: LogSync | undefined;
  /** The first failed sync of the log, after which no new message is taken. */
  #logLost: unknown;
  #onCommitted: (() => void) | undefined;
  #stmt: Record<
    | "insertMessage"
    | "insertEnvelope"
    | "deleteEnvelope"
    | "deleteMessageIfDone"
    | "defer"
    | "postpone"
    | "settle"
    | "savepoint"
    | "release",
    StatementSync
  >;

  constructor(db: DatabaseSync, options: GroupCommitOptions) {
    this.#db = db;
    this.#now = options.now;
    this.#newLease = options.newLease;
    this.#busyDeadlineMs = options.busyDeadlineMs ?? DEFAULT_BUSY_DEADLINE_MS;
    this.#walSync = options.walSync;
    this.#onCommitted = options.onCommitted;
    // With the log synced after COMMIT, no commit fsyncs inside SQLite.
    if (this.#walSync) this.#setDurability(false);
    this.#stmt = {
      insertMessage: db.prepare(
        "INSERT INTO messages (msgid, sender, helo, src, created_at, size, flags, content, dsn_ret, dsn_envid, smtputf8) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      insertEnvelope: db.prepare(
        "INSERT INTO envelopes (evpid, msgid, rcpt, action, user, state, created_at, next_try, dsn_notify, dsn_orcpt, expires_at, lease_owner, lease_until, dest, target, hops, expanded) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteEnvelope: db.prepare("DELETE FROM envelopes WHERE evpid = ?"),
      deleteMessageIfDone: db.prepare(
        "DELETE FROM messages WHERE msgid = ? AND NOT EXISTS (SELECT 1 FROM envelopes WHERE msgid = ?)",
      ),
      defer: db.prepare(
        "UPDATE envelopes SET next_try = ?, attempts = attempts + 1, last_try = ?, last_error = ?, warned = ?, lease_owner = NULL, lease_until = 0 WHERE evpid = ?",
      ),
      postpone: db.prepare(
        "UPDATE envelopes SET next_try = ?, last_error = ?, warned = ?, lease_owner = NULL, lease_until = 0 WHERE evpid = ?",
      ),
      // A failed or delivered envelope keeps its lease: its holder queues the report.
      settle: db.prepare(
        "UPDATE envelopes SET state = ?, attempts = attempts + 1, last_try = ?, last_error = ? WHERE evpid = ?",
      ),
      savepoint: db.prepare("SAVEPOINT w"),
      release: db.prepare("RELEASE w"),
    };
  }

  /** Transactions committed so far (a group counts once). */
  get commits(): number {
    return this.#commits;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // New messages are flushed in a microtask: a client waits for that 250. Writes made in
  // the same run of code share a transaction (those after an await may not), and
  // transactions committed while a sync is under way share the next sync. (A task of its
  // own cost a lone session 0.18 ms a message, for no larger batches.) Delivery results
  // can wait a timer tick, so that many of them share one transaction.
  /**
   * Resolves once the transaction holding the write is committed and durable.
   * `committed` is called as soon as it is committed, while the log's sync is still under
   * way: what it starts (a delivery) overlaps the fsync. A write that fails gets no call;
   * a call that throws fails the write.
   */
  write(write: QueueWrite, committed?: () => void): Promise<void> {
    if (this.#closed) return Promise.reject(queueClosed());
    return new Promise((resolve, reject) => {
      this.#pending.push({ write, since: Date.now(), committed, resolve, reject });
      if (write.kind === "message") {
        if (!this.#urgentScheduled) {
          this.#urgentScheduled = true;
          queueMicrotask(() => this.#flush());
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

  /** Commits what is pending (a busy file is not waited for); later writes are refused. */
  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    if (this.#busyRetry !== undefined) clearTimeout(this.#busyRetry);
    this.#flush();
    this.#closed = true;
    // Writes made by the committed calls of that last flush would wait for a flush that
    // no longer comes.
    const late = this.#pending;
    this.#pending = [];
    for (const p of late) p.reject(queueClosed());
  }

  #flush(): void {
    this.#urgentScheduled = false;
    let batch = this.#pending;
    if (batch.length === 0 || this.#closed) return;
    this.#pending = [];
    if (this.#logLost !== undefined) batch = this.#refuseNewMessages(batch);
    if (batch.length === 0) return;
    const failures = new Map<PendingWrite, unknown>();
    try {
      this.#commitBatch(batch, failures);
    } catch (error) {
      if (isBusy(error) && !this.#closing) {
        this.#waitForTurn(batch, error);
        return;
      }
      // Nothing of the batch is in the file: each caller decides (451, try again later).
      for (const p of batch) p.reject(error);
      return;
    }
    this.#commits++;
    this.#onCommitted?.();
    // Started before the sync ends, a delivery of a message whose sync then fails is one
    // the queue would have made anyway (the rows are committed): at worst a duplicate
    // when the client, told 451, sends it again; never a loss.
    for (const p of batch) {
      if (!p.committed || failures.has(p)) continue;
      try {
        p.committed();
      } catch (error) {
        failures.set(p, error);
      }
    }
    // A write's own failure comes first; then the batch's, if any.
    const settle = (failed?: { error: unknown }) => {
      for (const p of batch) {
        if (failures.has(p)) p.reject(failures.get(p));
        else if (failed) p.reject(failed.error);
        else p.resolve();
      }
    };
    // A new message is durable, and may be answered 250, once the log is synced. A sync
    // that succeeds after one failed covers frames that come after those that may be
    // lost: not durable either.
    if (this.#walSync && batch.some((p) => p.write.kind === "message")) {
      this.#walSync.sync().then(
        () => settle(this.#logLost === undefined ? undefined : { error: this.#logLostError() }),
        (error) => {
          this.#logLost ??= error;
          settle({ error });
        },
      );
    } else {
      settle();
    }
  }

  // After a failed fdatasync the kernel may have dropped the log's unwritten pages and
  // reported it once: a later sync that succeeds no longer proves the commits before it
  // are on disk, and SQLite's recovery after a power cut stops at the first frame lost,
  // taking every later commit with it. So no new message is committed (its client is told
  // 451 and tries again) until the daemon is restarted; delivery results still are (losing
  // one repeats a delivery, it loses no mail).
  #refuseNewMessages(batch: PendingWrite[]): PendingWrite[] {
    const error = this.#logLostError();
    return batch.filter((p) => {
      if (p.write.kind !== "message") return true;
      p.reject(error);
      return false;
    });
  }

  #logLostError(): Error {
    return new Error(
      `the queue's log could not be synced to disk (${
        errorMessage(this.#logLost)
      }); no new mail is taken until the daemon is restarted`,
    );
  }

  // Another process holds the write lock past the busy timeout: the batch goes back in
  // front of what came since and is tried again shortly, until its deadline passes.
  #waitForTurn(batch: PendingWrite[], error: unknown): void {
    const now = Date.now();
    const waiting = batch.filter((p) => now - p.since < this.#busyDeadlineMs);
    for (const p of batch) if (!waiting.includes(p)) p.reject(error);
    this.#pending = [...waiting, ...this.#pending];
    if (this.#pending.length === 0 || this.#busyRetry !== undefined) return;
    this.#busyRetry = setTimeout(() => {
      this.#busyRetry = undefined;
      this.#flush();
    }, BUSY_RETRY_MS * (0.5 + Math.random()));
  }

  // One transaction; a write that fails is rolled back to its savepoint alone. A full
  // disk or an I/O error may end the whole transaction in SQLite (then the batch fails
  // as one), and a COMMIT that fails is rolled back, so the connection is never left
  // inside a transaction or holding a savepoint for the next batch.
  #commitBatch(batch: readonly PendingWrite[], failures: Map<PendingWrite, unknown>): void {
    if (!this.#walSync) this.#setDurability(batch.some((p) => p.write.kind === "message"));
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const p of batch) {
        this.#stmt.savepoint.run();
        try {
          this.#apply(p.write);
          this.#stmt.release.run();
        } catch (error) {
          if (!this.#db.isTransaction) throw error;
          this.#db.exec("ROLLBACK TO w; RELEASE w");
          failures.set(p, error);
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      rollback(this.#db);
      failures.clear();
      throw error;
    }
  }

  // A transaction holding a new message is fsynced before its 250 (synchronous=FULL). One
  // holding only delivery results is not (NORMAL: in WAL mode it survives a crash of the
  // process, and the next FULL commit or checkpoint makes it durable): after a power cut
  // such a result may be lost and the delivery repeated — at-least-once — while it saves
  // one fsync per delivery on the path every message takes.
  #setDurability(full: boolean): void {
    if (this.#fullSync === full) return;
    this.#db.exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    this.#fullSync = full;
  }

  #apply(write: QueueWrite): void {
    const s = this.#stmt;
    const now = this.#now();
    switch (write.kind) {
      case "message": {
        const m = write.message;
        s.insertMessage.run(
          write.msgid,
          m.sender,
          m.helo,
          m.src,
          now,
          m.content.byteLength,
          write.flags,
          write.stored,
          m.dsnRet ?? null,
          m.dsnEnvid ?? null,
          m.smtputf8 ? 1 : 0,
        );
        this.#insertEnvelopes(write.envelopes, now);
        for (const e of write.consumes) this.#removeEnvelope(e);
        return;
      }
      case "expanded":
        this.#insertEnvelopes(write.children, now);
        s.deleteEnvelope.run(write.envelope.evpid);
        return;
      case "delivered":
        if (write.keepForReport) {
          // The success report tells "relayed" from "delivered" by this, after a restart too.
          s.settle.run("delivered", now, write.relayed ? "relayed" : null, write.envelope.evpid);
        } else {
          this.#removeEnvelope(write.envelope);
        }
        return;
      case "deferred":
        if (write.attempted) {
          s.defer.run(write.nextTry, now, write.error, write.warned, write.envelope.evpid);
        } else s.postpone.run(write.nextTry, write.error, write.warned, write.envelope.evpid);
        return;
      case "failed":
        s.settle.run("failed", now, write.error, write.envelope.evpid);
        return;
      case "removed":
        for (const e of write.envelopes) this.#removeEnvelope(e);
        return;
    }
  }

  // New envelopes (of a new message, or of an expansion) are leased to this process when
  // it delivers what it commits.
  #insertEnvelopes(envelopes: readonly QueuedEnvelope[], now: number): void {
    const lease = this.#newLease(now);
    for (const e of envelopes) {
      this.#stmt.insertEnvelope.run(
        e.evpid,
        e.msgid,
        e.rcpt,
        e.action,
        e.user ?? null,
        e.createdAt,
        now,
        e.dsnNotify?.join(",") ?? null,
        e.dsnOrcpt ?? null,
        e.expiresAt,
        lease?.owner ?? null,
        lease?.until ?? 0,
        e.dest ?? null,
        e.target ?? null,
        e.hops ?? 0,
        e.expanded === undefined ? null : JSON.stringify(e.expanded),
      );
    }
  }

  #removeEnvelope(envelope: QueuedEnvelope): void {
    this.#stmt.deleteEnvelope.run(envelope.evpid);
    this.#stmt.deleteMessageIfDone.run(envelope.msgid, envelope.msgid);
  }
}
