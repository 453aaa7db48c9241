// The queue's only durable state: one SQLite file (WAL, fsync'd commits) with a row per
// message and a row per envelope. This facade is what the scheduler, the listeners and
// the commands see; the layout, row mapping, leases, due selection and group commit are
// each in their own sqlite_* file.

import { PolicyCache } from "./sqlite_policies.ts";
import type { DatabaseSync } from "node:sqlite";
import { DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { envelopeIds, randomHex } from "../mail/mod.ts";
import { type ContentCodec, createContentCodec } from "./content_codec.ts";
import type {
  DueEnvelope,
  EnvelopeState,
  ListedEnvelope,
  NewEnvelope,
  NewMessage,
  QueuedEnvelope,
} from "./envelope.ts";
import { DueEnvelopes } from "./sqlite_due.ts";
import { GroupCommit } from "./sqlite_group_commit.ts";
import { checkQueueKey } from "./sqlite_key_check.ts";
import type { HolderState, LeaseHolder } from "./lease_holder.ts";
import { Leases } from "./sqlite_leases.ts";
import { type EnvelopeSelector, QueueAdmin, type RemoveCount } from "./sqlite_admin.ts";
import { type MessageInfo, QueueReads } from "./sqlite_reads.ts";
import { buildEnvelope } from "./sqlite_rows.ts";
import { openQueueDatabase } from "./sqlite_schema.ts";
import { isTakenId, retryWhileBusy } from "./sqlite_errors.ts";
import { openDurability, type QueueDurability } from "./sqlite_durability.ts";
import type { CommitListener, QueueStats } from "./queue_stats.ts";
export type { CommitListener, QueueStats } from "./queue_stats.ts";

/** How long a command's write (`schedule all`) waits for a file others keep busy, ms. */
const COMMAND_BUSY_DEADLINE_MS = 120_000;

/** How many random message ids a commit tries before it gives up. */
const MSGID_TRIES = 5;

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
  /**
   * How long one statement waits for another process's lock, ms (5 s). It blocks the
   * process: a daemon sets it short, and its writes try again without blocking.
   */
  readonly busyTimeoutMs?: number;
  /** Makes a new message id (default: 8 random hex digits; tests pass a sequence). */
  readonly messageIds?: () => string;
  /** Checkpoint the log in a worker thread (a long-running process: the daemon). */
  readonly backgroundCheckpoints?: boolean;
}

/** Options of {@link Queue.commit}. */
export interface CommitOptions {
  /** The failed or delivered envelopes this message reports on; they go with its commit. */
  readonly consumes?: readonly QueuedEnvelope[];
}

/** Opens (creating if needed) the queue in a directory, checking the encryption key. */
export async function openQueue(dir: string, options: QueueOptions = {}): Promise<Queue> {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
  /** The queue file. */
  readonly path: string;
  /** The MTA-STS policies relaying fetched, kept with the queue (RFC 8461 §5.1). */
  readonly mtaStsPolicies: PolicyCache;
  #db: DatabaseSync;
  #codec: ContentCodec;
  #now: () => number;
  #ttl: (action: string) => number | undefined;
  #leases: Leases;
  #due: DueEnvelopes;
  #writer: GroupCommit;
  #listeners: CommitListener[] = [];
  #dueListeners: (() => void)[] = [];
  #reads: QueueReads;
  #admin: QueueAdmin;
  #durability: QueueDurability;
  #newId: () => string;

  /** A queue over an open file; {@link openQueue} opens one. */
  constructor(path: string, codec: ContentCodec, options: QueueOptions = {}) {
    this.path = path;
    this.#codec = codec;
    const now = options.now ?? Date.now;
    this.#now = now;
    this.#ttl = options.ttl ?? (() => undefined);
    this.#newId = options.messageIds ?? (() => randomHex(4));
    const db = openQueueDatabase(path, options.busyTimeoutMs);
    this.#db = db;
    this.mtaStsPolicies = new PolicyCache(db);
    const leases = new Leases(db, {
      now,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    this.#leases = leases;
    this.#due = new DueEnvelopes(db, leases, now);
    const leaseOnCommit = options.leaseOnCommit ?? false;
    const durability = openDurability(db, path, options.backgroundCheckpoints ?? false);
    this.#durability = durability;
    this.#writer = new GroupCommit(db, {
      now,
      newLease: (at) =>
        leaseOnCommit ? { owner: leases.owner, until: leases.until(at) } : undefined,
      ...(durability.walSync ? { walSync: durability.walSync } : {}),
      ...(durability.onCommitted ? { onCommitted: durability.onCommitted } : {}),
    });
    this.#reads = new QueueReads(db, path, codec);
    this.#admin = new QueueAdmin(db);
  }

  /** The name this process takes leases under. */
  get owner(): string {
    return this.#leases.owner;
  }

  /**
   * Refuses to start with the wrong key: the first encrypted start stores a sealed
   * check value, later starts must open it. A queue holding encrypted bodies needs a key.
   */
  checkKey(): Promise<void> {
    return checkQueueKey(this.#db, this.#codec, this.path);
  }

  /**
   * Commits a message and its envelopes. Resolves with the message id once the
   * transaction holding it is durable; rejects if it could not be written.
   */
  async commit(message: NewMessage, options: CommitOptions = {}): Promise<string> {
    // The common case (no compression, no encryption) adds no await before the write.
    const stored = this.#codec.flags === 0
      ? message.content
      : await this.#codec.encode(message.content);
    // A random id (32 bits, as OpenSMTPD's) may be one the queue holds already: with
    // 100,000 messages queued, about one new message in 43,000. It gets another id.
    for (let attempt = 1;; attempt++) {
      const msgid = message.msgid ?? this.#newId();
      try {
        await this.#commitAs(msgid, message, stored, options);
        return msgid;
      } catch (error) {
        if (message.msgid !== undefined || attempt >= MSGID_TRIES || !isTakenId(error)) throw error;
      }
    }
  }

  async #commitAs(
    msgid: string,
    message: NewMessage,
    stored: Uint8Array,
    options: CommitOptions,
  ): Promise<void> {
    const now = this.#now();
    // Envelopes without an id (sendmail, reports) get distinct ones, beside those given
    // (a session gives them all: nothing to draw).
    const missing = message.envelopes.filter((e) => e.evpid === undefined).length;
    const fresh = missing === 0 ? [] : envelopeIds(
      msgid,
      missing,
      new Set(message.envelopes.flatMap((e) => e.evpid === undefined ? [] : [e.evpid])),
    );
    const envelopes = message.envelopes.map((e) =>
      buildEnvelope(
        {
          msgid,
          sender: message.sender,
          createdAt: now,
          expiresAt: now + (this.#ttl(e.action) ?? DEFAULTS.queueTtl) * 1000,
          warned: 0,
          ...(e.dsnNotify === undefined ? {} : { dsnNotify: e.dsnNotify }),
          ...(e.dsnOrcpt === undefined ? {} : { dsnOrcpt: e.dsnOrcpt }),
        },
        e,
        e.evpid ?? fresh.pop()!,
      )
    );
    const info = {
      createdAt: now,
      ...(message.dsnRet === undefined ? {} : { dsnRet: message.dsnRet }),
      ...(message.dsnEnvid === undefined ? {} : { dsnEnvid: message.dsnEnvid }),
    };
    // The listeners (delivery) start once the rows are committed, during the log's sync;
    // the caller's 250 waits for the sync.
    await this.#writer.write(
      {
        kind: "message",
        message,
        msgid,
        envelopes,
        stored,
        flags: stored === message.content ? 0 : this.#codec.flags,
        consumes: options.consumes ?? [],
      },
      () => {
        for (const listener of this.#listeners) listener(envelopes, message.content, info);
      },
    );
  }

  /**
   * Records a successful delivery; the message goes once no envelope is left. With
   * `keepForReport` the envelope stays, as 'delivered', until its success report is queued;
   * `relayed` (handed to a server without DSN) is kept in its last error, so that a report
   * sent after a restart still says "relayed", not "delivered".
   */
  markDelivered(
    envelope: QueuedEnvelope,
    keepForReport = false,
    options: { readonly relayed?: boolean } = {},
  ): Promise<void> {
    const relayed = options.relayed === true;
    return this.#writer.write({ kind: "delivered", envelope, keepForReport, relayed });
  }

  /**
   * Records a temporary failure, when to try again, and how many warnings were sent; with
   * `attempted: false`, an envelope held back untried, whose attempt count stays.
   */
  markDeferred(
    envelope: QueuedEnvelope,
    nextTry: number,
    error: string,
    warned = envelope.warned,
    options: { readonly attempted?: boolean } = {},
  ): Promise<void> {
    const attempted = options.attempted ?? true;
    return this.#writer.write({ kind: "deferred", envelope, nextTry, error, warned, attempted });
  }

  /** Records a permanent failure (kept, as 'failed', until its report is queued). */
  markFailed(envelope: QueuedEnvelope, error: string): Promise<void> {
    return this.#writer.write({ kind: "failed", envelope, error });
  }

  /**
   * Replaces an envelope by what its expansion produced (aliases, virtual, .forward), in
   * one transaction; the new envelopes, which keep the original's DSN settings, arrival
   * and lifetime, are then handed to the commit listeners.
   */
  async replaceByExpansion(
    envelope: QueuedEnvelope,
    children: readonly NewEnvelope[],
    content: Uint8Array,
  ): Promise<QueuedEnvelope[]> {
    const ids = envelopeIds(envelope.msgid, children.length, new Set([envelope.evpid]));
    const queued = children.map((c, n) => buildEnvelope(envelope, c, c.evpid ?? ids[n]!));
    await this.#writer.write({ kind: "expanded", envelope, children: queued });
    for (const listener of this.#listeners) listener(queued, content);
    return queued;
  }

  /** Removes envelopes for good (reports that need not or cannot be sent). */
  remove(envelopes: readonly QueuedEnvelope[]): Promise<void> {
    return this.#writer.write({ kind: "removed", envelopes });
  }

  /** Leases queued envelopes due at `now`, oldest due first, skipping those another process holds. */
  claimDue(now: number, limit: number): DueEnvelope[] {
    return this.#writer.closed ? [] : this.#due.claimDue(now, limit);
  }

  /**
   * Makes every free queued envelope due at `now` (`smtpctl schedule all`); returns how
   * many. A command's write: it waits for a file other processes keep busy.
   */
  scheduleAll(now: number): number {
    return retryWhileBusy(() => this.#due.scheduleAll(now), COMMAND_BUSY_DEADLINE_MS);
  }

  /**
   * Makes the selected envelopes due at `now` (`smtpctl schedule ID|all`); paused ones
   * and those a process is delivering stay as they are. Returns how many.
   */
  schedule(selector: EnvelopeSelector, now: number): number {
    const count = retryWhileBusy(
      () => this.#admin.schedule(selector, now),
      COMMAND_BUSY_DEADLINE_MS,
    );
    if (count > 0) this.#madeDue();
    return count;
  }

  /** Suspends or resumes the selected envelopes (`smtpctl pause|resume envelope`). */
  pause(selector: EnvelopeSelector, paused: boolean): number {
    const count = retryWhileBusy(
      () => this.#admin.pause(selector, paused),
      COMMAND_BUSY_DEADLINE_MS,
    );
    if (count > 0 && !paused) this.#madeDue();
    return count;
  }

  /**
   * Calls `listener` when a command on this connection made envelopes due (schedule,
   * resume): the file's data version, which tells of other processes' writes, stays.
   */
  onDue(listener: () => void): void {
    this.#dueListeners.push(listener);
  }

  #madeDue(): void {
    for (const listener of this.#dueListeners) listener();
  }

  /**
   * Removes the selected queued envelopes no process is delivering (`smtpctl remove`),
   * those of processes that are gone included; says how many it left in flight.
   */
  removeSelected(selector: EnvelopeSelector): RemoveCount {
    const now = this.#now();
    return retryWhileBusy(() => {
      this.#leases.releaseStale();
      return this.#admin.remove(selector, now);
    }, COMMAND_BUSY_DEADLINE_MS);
  }

  /** Leases failed and delivered envelopes whose reports are still to be queued. */
  claimReports(limit: number): (QueuedEnvelope & { state: EnvelopeState })[] {
    return this.#writer.closed ? [] : this.#due.claimReports(limit);
  }

  /**
   * Frees the leases of processes on this host that are gone (killed, crashed), and with
   * `own` those under this process's name — at start-up they are from an earlier life
   * with the same pid. Their envelopes can then be delivered again.
   */
  releaseStaleLeases(
    options: { own?: boolean; stateOf?: (holder: LeaseHolder) => HolderState } = {},
  ): number {
    return this.#leases.releaseStale(options);
  }

  /**
   * The holders of leases the last {@link releaseStaleLeases} could not tell alive or
   * gone (no access to /proc): their envelopes wait for the leases to end.
   */
  get undecidedLeaseHolders(): readonly string[] {
    return this.#leases.undecided;
  }

  /**
   * Whether this process took the envelope's lease back from a gone holder (answered
   * once): it may have been delivered already.
   */
  takenBack(evpid: string): boolean {
    return this.#leases.takenBack(evpid);
  }

  /** When the earliest free queued envelope is due, if any. */
  nextTry(): number | undefined {
    return this.#due.nextTry();
  }

  /** A number that changes when another process commits to the file. */
  dataVersion(): number {
    return this.#reads.dataVersion();
  }

  /** Every envelope with its state, tries and lease (for listings and tests). */
  envelopes(): ListedEnvelope[] {
    return this.#reads.envelopes();
  }

  /** Every envelope, as {@link envelopes} lists them, in pages of `size` read as they go. */
  envelopePages(size: number): Generator<ListedEnvelope[]> {
    return this.#reads.envelopePages(size);
  }

  /** The stored message as received (decompressed, decrypted), Received: header first. */
  content(msgid: string): Promise<Uint8Array | undefined> {
    return this.#reads.content(msgid);
  }

  /** The message's DSN settings and arrival, for reports. */
  messageInfo(msgid: string): MessageInfo | undefined {
    return this.#reads.messageInfo(msgid);
  }

  /**
   * Calls the listener after every commit of a new message: once its rows are committed,
   * while the commit is being made durable (its `commit` resolves after that).
   */
  onCommit(listener: CommitListener): void {
    this.#listeners.push(listener);
  }

  /** Counts by state. */
  stats(): QueueStats {
    return { ...this.#reads.counts(), commits: this.#writer.commits };
  }

  /** Runs `PRAGMA integrity_check`; "ok" when the file is sound. */
  integrityCheck(): string {
    return this.#reads.integrityCheck();
  }

  /** Resolves once a closed queue's file is left alone by every thread (before removing it). */
  get released(): Promise<void> {
    return this.#durability.ended;
  }

  /** Writes what is pending, then closes the file. */
  close(): void {
    if (this.#writer.closed) return;
    this.#writer.close();
    this.#durability.close();
    this.#db.close();
  }
}
