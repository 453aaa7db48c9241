// The queue's only durable state: one SQLite file (WAL, synchronous=FULL) with a row per
// message and a row per envelope. Every write of one event-loop turn — new messages and
// delivery results alike — goes into one transaction with one fsync (group commit).
// Envelopes being delivered carry a lease naming the process, so a daemon and a
// `queue flush` sharing the file never deliver the same envelope twice.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { CONTENT_ENCRYPTED, type ContentCodec, createContentCodec } from "./content_codec.ts";
import type {
  EnvelopeState,
  ListedEnvelope,
  NewEnvelope,
  NewMessage,
  QueuedEnvelope,
} from "./envelope.ts";

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

const SCHEMA_VERSION = 3;

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
  hops INTEGER NOT NULL DEFAULT 0
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
BEGIN;
ALTER TABLE envelopes RENAME TO envelopes_v2;
DROP INDEX IF EXISTS envelopes_due;
DROP INDEX IF EXISTS envelopes_msgid;
${ENVELOPES_TABLE}
INSERT INTO envelopes (evpid, msgid, rcpt, action, user, state, created_at, next_try, attempts,
  last_error, dsn_notify, dsn_orcpt, expires_at)
  SELECT evpid, msgid, rcpt, action, user, state, created_at, next_try, attempts, last_error,
    dsn_notify, dsn_orcpt, created_at + ${DEFAULTS.queueTtl * 1000} FROM envelopes_v2;
DROP TABLE envelopes_v2;
COMMIT;
`;

const KEY_CHECK = new TextEncoder().encode("queue key check");
const DEFAULT_LEASE_MS = 30 * 60 * 1000;

type Write =
  | {
    kind: "message";
    message: NewMessage;
    msgid: string;
    envelopes: QueuedEnvelope[];
    stored: Uint8Array;
    /** Envelopes whose report this message is: removed in the same transaction. */
    consumes: readonly QueuedEnvelope[];
  }
  | { kind: "delivered"; envelope: QueuedEnvelope; keepForReport: boolean }
  | { kind: "deferred"; envelope: QueuedEnvelope; nextTry: number; error: string; warned: number }
  | { kind: "failed"; envelope: QueuedEnvelope; error: string }
  | { kind: "removed"; envelopes: readonly QueuedEnvelope[] }
  | { kind: "expanded"; envelope: QueuedEnvelope; children: readonly QueuedEnvelope[] };

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
  /** `queue compression`. */
  readonly compression?: boolean;
  /** `queue encryption`: the 32-byte key. */
  readonly key?: Uint8Array;
  /** Lifetime of an envelope of an action, seconds (`queue ttl`, action `ttl`); 4 days. */
  readonly ttl?: (action: string) => number | undefined;
  /** The name leases are taken under (default host:pid). */
  readonly owner?: string;
  /**
   * New envelopes are leased to this process at once (a daemon delivers what it
   * receives); an enqueuer that does not deliver leaves them free.
   */
  readonly leaseOnCommit?: boolean;
  /** How long a lease lasts, should its holder die without a trace (30 minutes). */
  readonly leaseMs?: number;
}

/** Options of {@link Queue.commit}. */
export interface CommitOptions {
  /** The failed or delivered envelopes this message reports on; they go with its commit. */
  readonly consumes?: readonly QueuedEnvelope[];
}

/** Opens (creating if needed) the queue in a directory, checking the encryption key. */
export async function openQueue(dir: string, options: QueueOptions = {}): Promise<Queue> {
  Deno.mkdirSync(dir, { recursive: true });
  const codec = await createContentCodec({
    ...(options.compression ? { compression: true } : {}),
    ...(options.key ? { key: options.key } : {}),
  });
  const queue = new Queue(`${dir}/queue.sqlite`, codec, options);
  try {
    await queue.checkKey();
  } catch (error) {
    queue.close();
    throw error;
  }
  return queue;
}

/** The SQLite queue. */
export class Queue {
  readonly path: string;
  /** The name this process takes leases under. */
  readonly owner: string;
  #db: DatabaseSync;
  #codec: ContentCodec;
  #now: () => number;
  #ttl: (action: string) => number | undefined;
  #leaseOnCommit: boolean;
  #leaseMs: number;
  #pending: PendingWrite[] = [];
  #urgentScheduled = false;
  #lazyScheduled = false;
  #commits = 0;
  #listeners: CommitListener[] = [];
  #closed = false;
  #fullSync = true;
  #stmt: Record<
    | "insertMessage"
    | "insertEnvelope"
    | "deleteEnvelope"
    | "deleteMessageIfDone"
    | "defer"
    | "settle"
    | "due"
    | "schedule"
    | "reports"
    | "lease"
    | "content"
    | "nextTry"
    | "all"
    | "dataVersion"
    | "savepoint"
    | "release",
    StatementSync
  >;

  constructor(path: string, codec: ContentCodec, options: QueueOptions = {}) {
    this.path = path;
    this.#codec = codec;
    this.#now = options.now ?? Date.now;
    this.#ttl = options.ttl ?? (() => undefined);
    this.owner = options.owner ?? defaultOwner();
    this.#leaseOnCommit = options.leaseOnCommit ?? false;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
    const version = (this.#db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version > SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`Queue "${path}" has schema version ${version}, newer than this build's`);
    }
    if (version === 1) this.#db.exec(MIGRATE_1_TO_2);
    if (version === 1 || version === 2) this.#db.exec(MIGRATE_2_TO_3);
    this.#db.exec(SCHEMA);
    this.#db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
    const db = this.#db;
    const columns = "e.evpid, e.msgid, m.sender, e.rcpt, e.action, e.user, e.created_at, " +
      "e.attempts, e.last_error, e.dsn_notify, e.dsn_orcpt, e.expires_at, e.warned, e.dest, " +
      "e.target, e.hops";
    const free = "(e.lease_owner IS NULL OR e.lease_until <= ?)";
    this.#stmt = {
      insertMessage: db.prepare(
        "INSERT INTO messages (msgid, sender, helo, src, created_at, size, flags, content, dsn_ret, dsn_envid, smtputf8) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      insertEnvelope: db.prepare(
        "INSERT INTO envelopes (evpid, msgid, rcpt, action, user, state, created_at, next_try, dsn_notify, dsn_orcpt, expires_at, lease_owner, lease_until, dest, target, hops) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteEnvelope: db.prepare("DELETE FROM envelopes WHERE evpid = ?"),
      deleteMessageIfDone: db.prepare(
        "DELETE FROM messages WHERE msgid = ? AND NOT EXISTS (SELECT 1 FROM envelopes WHERE msgid = ?)",
      ),
      defer: db.prepare(
        "UPDATE envelopes SET next_try = ?, attempts = attempts + 1, last_try = ?, last_error = ?, warned = ?, lease_owner = NULL, lease_until = 0 WHERE evpid = ?",
      ),
      // A failed or delivered envelope keeps its lease: its holder queues the report.
      settle: db.prepare(
        "UPDATE envelopes SET state = ?, attempts = attempts + 1, last_try = ?, last_error = ? WHERE evpid = ?",
      ),
      due: db.prepare(
        `SELECT ${columns} FROM envelopes e JOIN messages m USING (msgid) WHERE e.state = 'queued' AND e.next_try <= ? AND ${free} ORDER BY e.next_try LIMIT ?`,
      ),
      schedule: db.prepare(
        "UPDATE envelopes SET next_try = ? WHERE state = 'queued' AND next_try > ? AND (lease_owner IS NULL OR lease_until <= ?)",
      ),
      reports: db.prepare(
        `SELECT ${columns}, e.state FROM envelopes e JOIN messages m USING (msgid) WHERE e.state IN ('failed', 'delivered') AND ${free} LIMIT ?`,
      ),
      lease: db.prepare("UPDATE envelopes SET lease_owner = ?, lease_until = ? WHERE evpid = ?"),
      content: db.prepare("SELECT content, flags FROM messages WHERE msgid = ?"),
      nextTry: db.prepare(
        "SELECT min(next_try) AS at FROM envelopes WHERE state = 'queued' AND lease_owner IS NULL",
      ),
      all: db.prepare(
        `SELECT ${columns}, e.state, e.next_try, e.last_try, e.lease_owner, m.src FROM envelopes e JOIN messages m USING (msgid) ORDER BY e.created_at, e.evpid`,
      ),
      dataVersion: db.prepare("PRAGMA data_version"),
      savepoint: db.prepare("SAVEPOINT w"),
      release: db.prepare("RELEASE w"),
    };
  }

  /**
   * Refuses to start with the wrong key: the first encrypted start stores a sealed
   * check value, later starts must open it. A queue holding encrypted bodies needs a key.
   */
  async checkKey(): Promise<void> {
    const row = this.#db.prepare("SELECT value FROM queue_meta WHERE key = 'key_check'").get() as
      | { value: Uint8Array }
      | undefined;
    if (this.#codec.flags & CONTENT_ENCRYPTED) {
      if (row) {
        try {
          await this.#codec.decode(row.value, CONTENT_ENCRYPTED);
        } catch {
          throw new Error(
            `The queue encryption key is not the one "${this.path}" was written with`,
          );
        }
      } else {
        const sealed = await this.#codec.encode(KEY_CHECK);
        this.#db.prepare("INSERT INTO queue_meta (key, value) VALUES ('key_check', ?)").run(
          sealed,
        );
      }
      return;
    }
    const encrypted = this.#db.prepare(
      "SELECT count(*) AS n FROM messages WHERE flags & ? != 0",
    ).get(CONTENT_ENCRYPTED) as { n: number };
    if (encrypted.n > 0) {
      throw new Error(
        `The queue "${this.path}" holds ${encrypted.n} encrypted message(s) and no ` +
          "`queue encryption` key is configured",
      );
    }
  }

  /**
   * Commits a message and its envelopes. Resolves with the message id once the
   * transaction holding it is durable; rejects if it could not be written.
   */
  async commit(message: NewMessage, options: CommitOptions = {}): Promise<string> {
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
      ...(e.dest === undefined ? {} : { dest: e.dest }),
      ...(e.target === undefined ? {} : { target: e.target }),
      ...(e.hops === undefined ? {} : { hops: e.hops }),
      createdAt: now,
      attempts: 0,
      expiresAt: now + (this.#ttl(e.action) ?? DEFAULTS.queueTtl) * 1000,
      warned: 0,
    }));
    // The common case (no compression, no encryption) adds no await before the write.
    const stored = this.#codec.flags === 0
      ? message.content
      : await this.#codec.encode(message.content);
    await this.#enqueue({
      kind: "message",
      message,
      msgid,
      envelopes,
      stored,
      consumes: options.consumes ?? [],
    });
    for (const listener of this.#listeners) listener(envelopes, message.content);
    return msgid;
  }

  /**
   * Records a successful delivery; the message goes once no envelope is left. With
   * `keepForReport` the envelope stays, as 'delivered', until its success report is queued.
   */
  markDelivered(envelope: QueuedEnvelope, keepForReport = false): Promise<void> {
    return this.#enqueue({ kind: "delivered", envelope, keepForReport });
  }

  /** Records a temporary failure, when to try again, and how many warnings were sent. */
  markDeferred(
    envelope: QueuedEnvelope,
    nextTry: number,
    error: string,
    warned = envelope.warned,
  ): Promise<void> {
    return this.#enqueue({ kind: "deferred", envelope, nextTry, error, warned });
  }

  /** Records a permanent failure (kept, as 'failed', until its report is queued). */
  markFailed(envelope: QueuedEnvelope, error: string): Promise<void> {
    return this.#enqueue({ kind: "failed", envelope, error });
  }

  /**
   * Replaces an envelope by what its expansion produced (aliases, virtual, .forward), in
   * one transaction; the new envelopes are then handed to the commit listeners.
   */
  async replaceByExpansion(
    envelope: QueuedEnvelope,
    children: readonly NewEnvelope[],
    content: Uint8Array,
  ): Promise<QueuedEnvelope[]> {
    const queued = children.map((c): QueuedEnvelope => ({
      evpid: envelope.msgid + randomHex(4),
      msgid: envelope.msgid,
      sender: envelope.sender,
      rcpt: c.rcpt,
      action: c.action,
      ...(c.user === undefined ? {} : { user: c.user }),
      ...(envelope.dsnNotify === undefined ? {} : { dsnNotify: envelope.dsnNotify }),
      ...(envelope.dsnOrcpt === undefined ? {} : { dsnOrcpt: envelope.dsnOrcpt }),
      ...(c.dest === undefined ? {} : { dest: c.dest }),
      ...(c.target === undefined ? {} : { target: c.target }),
      ...(c.hops === undefined ? {} : { hops: c.hops }),
      createdAt: envelope.createdAt,
      attempts: 0,
      expiresAt: envelope.expiresAt,
      warned: envelope.warned,
    }));
    await this.#enqueue({ kind: "expanded", envelope, children: queued });
    for (const listener of this.#listeners) listener(queued, content);
    return queued;
  }

  /** Removes envelopes for good (reports that need not or cannot be sent). */
  remove(envelopes: readonly QueuedEnvelope[]): Promise<void> {
    return this.#enqueue({ kind: "removed", envelopes });
  }

  /** Leases queued envelopes due at `now`, oldest due first, skipping those another process holds. */
  claimDue(now: number, limit: number): QueuedEnvelope[] {
    return this.#claim(() =>
      (this.#stmt.due.all(now, now, limit) as unknown as Row[]).map(toEnvelope)
    );
  }

  /** Makes every free queued envelope due at `now` (`smtpctl schedule all`); returns how many. */
  scheduleAll(now: number): number {
    return Number(this.#stmt.schedule.run(now, now, now).changes);
  }

  /** Leases failed and delivered envelopes whose reports are still to be queued. */
  claimReports(limit: number): (QueuedEnvelope & { state: EnvelopeState })[] {
    return this.#claim(() =>
      (this.#stmt.reports.all(this.#now(), limit) as unknown as (Row & {
        state: EnvelopeState;
      })[]).map((row) => ({ ...toEnvelope(row), state: row.state }))
    );
  }

  /**
   * Frees the leases of processes on this host that are gone (killed, crashed), and with
   * `own` those under this process's name — at start-up they are from an earlier life
   * with the same pid. Their envelopes can then be delivered again.
   */
  releaseStaleLeases(
    options: { own?: boolean; isAlive?: (pid: number) => boolean } = {},
  ): number {
    const isAlive = options.isAlive ?? processIsAlive;
    const owners = this.#db.prepare(
      "SELECT DISTINCT lease_owner AS owner FROM envelopes WHERE lease_owner IS NOT NULL",
    ).all() as { owner: string }[];
    const host = this.owner.slice(0, this.owner.lastIndexOf(":"));
    let released = 0;
    for (const { owner } of owners) {
      const colon = owner.lastIndexOf(":");
      const sameHost = owner.slice(0, colon) === host;
      const pid = Number(owner.slice(colon + 1));
      const mine = owner === this.owner;
      if ((mine && options.own) || (!mine && sameHost && !isAlive(pid))) {
        released += Number(
          this.#db.prepare(
            "UPDATE envelopes SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
          ).run(owner).changes,
        );
      }
    }
    return released;
  }

  /** When the earliest free queued envelope is due, if any. */
  nextTry(): number | undefined {
    return (this.#stmt.nextTry.get() as { at: number | null }).at ?? undefined;
  }

  /** A number that changes when another process commits to the file. */
  dataVersion(): number {
    return (this.#stmt.dataVersion.get() as { data_version: number }).data_version;
  }

  /** Every envelope with its state, tries and lease (for listings and tests). */
  envelopes(): ListedEnvelope[] {
    return (this.#stmt.all.all() as unknown as (Row & {
      state: EnvelopeState;
      next_try: number;
      last_try: number;
      lease_owner: string | null;
      src: string;
    })[]).map((row) => ({
      ...toEnvelope(row),
      state: row.state,
      src: row.src,
      nextTry: row.next_try,
      lastTry: row.last_try,
      ...(row.lease_owner === null ? {} : { leaseOwner: row.lease_owner }),
    }));
  }

  /** The stored message as received (decompressed, decrypted), Received: header first. */
  async content(msgid: string): Promise<Uint8Array | undefined> {
    const row = this.#stmt.content.get(msgid) as
      | { content: Uint8Array; flags: number }
      | undefined;
    if (!row) return undefined;
    return row.flags === 0 ? row.content : await this.#codec.decode(row.content, row.flags);
  }

  /** The message's DSN settings and arrival, for reports. */
  messageInfo(
    msgid: string,
  ): { createdAt: number; dsnRet?: "FULL" | "HDRS"; dsnEnvid?: string } | undefined {
    const row = this.#db.prepare(
      "SELECT created_at, dsn_ret, dsn_envid FROM messages WHERE msgid = ?",
    ).get(msgid) as
      | { created_at: number; dsn_ret: "FULL" | "HDRS" | null; dsn_envid: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      createdAt: row.created_at,
      ...(row.dsn_ret === null ? {} : { dsnRet: row.dsn_ret }),
      ...(row.dsn_envid === null ? {} : { dsnEnvid: row.dsn_envid }),
    };
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

  /** Runs `PRAGMA integrity_check`; "ok" when the file is sound. */
  integrityCheck(): string {
    const rows = this.#db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  }

  /** Writes what is pending, then closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  // A claim is its own short transaction: the rows read are leased before anyone else
  // can read them as free.
  #claim<T extends QueuedEnvelope>(select: () => T[]): T[] {
    if (this.#closed) return [];
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const rows = select();
      const until = this.#now() + this.#leaseMs;
      for (const row of rows) this.#stmt.lease.run(this.owner, until, row.evpid);
      this.#db.exec("COMMIT");
      return rows;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
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
      this.#setDurability(batch.some((p) => p.write.kind === "message"));
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const p of batch) {
          this.#stmt.savepoint.run();
          try {
            this.#apply(p.write);
            this.#stmt.release.run();
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

  #apply(write: Write): void {
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
          write.stored === m.content ? 0 : this.#codec.flags,
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
        this.#stmt.deleteEnvelope.run(write.envelope.evpid);
        return;
      case "delivered":
        if (write.keepForReport) {
          s.settle.run("delivered", now, null, write.envelope.evpid);
        } else {
          this.#removeEnvelope(write.envelope);
        }
        return;
      case "deferred":
        s.defer.run(write.nextTry, now, write.error, write.warned, write.envelope.evpid);
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
    const owner = this.#leaseOnCommit ? this.owner : null;
    const leaseUntil = this.#leaseOnCommit ? now + this.#leaseMs : 0;
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
        owner,
        leaseUntil,
        e.dest ?? null,
        e.target ?? null,
        e.hops ?? 0,
      );
    }
  }

  #removeEnvelope(envelope: QueuedEnvelope): void {
    this.#stmt.deleteEnvelope.run(envelope.evpid);
    this.#stmt.deleteMessageIfDone.run(envelope.msgid, envelope.msgid);
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
  expires_at: number;
  warned: number;
  dest: string | null;
  target: string | null;
  hops: number;
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
    expiresAt: row.expires_at,
    warned: row.warned,
    ...(row.dest === null ? {} : { dest: row.dest }),
    ...(row.target === null ? {} : { target: row.target }),
    ...(row.hops === 0 ? {} : { hops: row.hops }),
  };
}

function defaultOwner(): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch {
    // Without --allow-sys the pid alone still tells processes of this host apart.
  }
  return `${host}:${Deno.pid}`;
}

// A process is alive while /proc has it (Linux). Where /proc cannot be read, a lease
// is taken as held, and only its expiry frees it.
function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false;
      } catch {
        return true;
      }
    }
    return true;
  }
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
