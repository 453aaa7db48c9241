// Outbound connections shared between envelopes: at most so many at once in each scope a
// session counts in (its route, remote host, destination, source address…, as OpenSMTPD's
// `mta limit max-conn-per-*`) and in all; a session that has finished a transaction goes to
// the next envelope with the same key (RFC 5321 §3.3: many transactions per session),
// waiting idle a short while for one, and is closed after that or after so many.

import type { RelaySession } from "./session.ts";

/** Limits of a {@link ConnectionPool}, for requests that name none of their own. */
export interface PoolLimits {
  /** Sessions open at once to one key (Postfix's default_destination_concurrency_limit). */
  readonly perDestination: number;
  /** Sessions open at once in all. */
  readonly total: number;
  /** Transactions one session carries before it is closed (OpenSMTPD's 100 mails). */
  readonly transactionsPerSession: number;
  /** How long a finished session waits for another envelope before it is closed; 0: never. */
  readonly idleMs: number;
}

/** The defaults: 20 per destination, 100 in all, 100 messages a session, 3 s idle. */
export const DEFAULT_POOL_LIMITS: PoolLimits = Object.freeze({
  perDestination: 20,
  total: 100,
  transactionsPerSession: 100,
  idleMs: 3_000,
});

/** A count a session adds to while it is open, and the most that count may reach. */
export interface PoolScope {
  readonly key: string;
  readonly limit: number;
}

/** What a slot is asked for with. */
export interface LeaseRequest {
  /** Sessions pass only between requests of the same key. */
  readonly key: string;
  /** The counts the session adds to (default: the key itself, at `perDestination`). */
  readonly scopes?: readonly PoolScope[];
  /** Transactions before the session is closed (default: the pool's). */
  readonly transactionsPerSession?: number;
  /** Idle wait before it is closed (default: the pool's; never when the pool's is 0). */
  readonly idleMs?: number;
}

/** A slot for one envelope: with a session already open to the hop, or none yet. */
export interface Lease {
  readonly session?: RelaySession;
  /** Gives the slot back, with the session when it may carry more. Call exactly once. */
  release(session: RelaySession | undefined): Promise<void>;
}

interface Settled {
  readonly key: string;
  readonly scopes: readonly PoolScope[];
  readonly transactions: number;
  readonly idleMs: number;
}

interface Waiter {
  readonly request: Settled;
  readonly grant: (lease: Lease) => void;
}

interface Idle {
  readonly request: Settled;
  readonly session: RelaySession;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/** Sessions and slots per key and scope. */
export class ConnectionPool {
  readonly #limits: PoolLimits;
  readonly #counts = new Map<string, number>();
  readonly #uses = new WeakMap<RelaySession, number>();
  #total = 0;
  #waiters: Waiter[] = [];
  #idle: Idle[] = [];
  #closed = false;

  constructor(limits: Partial<PoolLimits> = {}) {
    this.#limits = { ...DEFAULT_POOL_LIMITS, ...limits };
  }

  /** Sessions open (or opening, or idle) now, in scope `key` or in all. */
  active(key?: string): number {
    return key === undefined ? this.#total : this.#counts.get(key) ?? 0;
  }

  /** Waits for a slot: an idle session of the key first, else room for a new one. */
  acquire(what: string | LeaseRequest): Promise<Lease> {
    const request = this.#settle(typeof what === "string" ? { key: what } : what);
    const idle = this.#idle.findIndex((i) => i.request.key === request.key);
    if (idle >= 0) {
      const [taken] = this.#idle.splice(idle, 1);
      clearTimeout(taken!.timer);
      return Promise.resolve(this.#lease(taken!.request, taken!.session));
    }
    // Room taken by another key's idle session is given back for a waiting one.
    if (this.#total >= this.#limits.total && this.#idle.length > 0) this.#expire(this.#idle[0]!);
    if (!this.#hasRoom(request)) {
      // An idle session holding the room of a scope this request needs makes way.
      const blocking = this.#idle.find((i) => this.#shares(i.request, request));
      if (blocking) this.#expire(blocking);
    }
    if (this.#hasRoom(request)) {
      this.#take(request);
      return Promise.resolve(this.#lease(request, undefined));
    }
    return new Promise((grant) => this.#waiters.push({ request, grant }));
  }

  /** Closes the idle sessions; sessions released afterwards are closed at once. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all(idle.map((i) => {
      clearTimeout(i.timer);
      return this.#free(i.request, i.session);
    }));
  }

  #settle(request: LeaseRequest): Settled {
    const idleMs = this.#limits.idleMs <= 0 ? 0 : request.idleMs ?? this.#limits.idleMs;
    return {
      key: request.key,
      scopes: request.scopes ?? [{ key: request.key, limit: this.#limits.perDestination }],
      transactions: request.transactionsPerSession ?? this.#limits.transactionsPerSession,
      idleMs,
    };
  }

  #shares(a: Settled, b: Settled): boolean {
    return a.scopes.some((s) =>
      b.scopes.some((t) => t.key === s.key && this.active(t.key) >= t.limit)
    );
  }

  #hasRoom(request: Settled): boolean {
    return this.#total < this.#limits.total &&
      request.scopes.every((s) => this.active(s.key) < s.limit);
  }

  #take(request: Settled): void {
    for (const scope of request.scopes) this.#counts.set(scope.key, this.active(scope.key) + 1);
    this.#total++;
  }

  #lease(request: Settled, session: RelaySession | undefined): Lease {
    let released = false;
    return {
      ...(session ? { session } : {}),
      release: async (used) => {
        if (released) return;
        released = true;
        await this.#release(request, used);
      },
    };
  }

  async #release(request: Settled, session: RelaySession | undefined): Promise<void> {
    if (!session) return await this.#free(request, undefined);
    const uses = (this.#uses.get(session) ?? 0) + 1;
    this.#uses.set(session, uses);
    if (this.#closed || !session.usable || uses >= request.transactions) {
      return await this.#free(request, session);
    }
    const next = this.#waiters.findIndex((w) => w.request.key === request.key);
    if (next >= 0) {
      // The slot and the session pass together to the next envelope with this key.
      const [waiter] = this.#waiters.splice(next, 1);
      waiter!.grant(this.#lease(request, session));
      return;
    }
    if (request.idleMs <= 0) return await this.#free(request, session);
    const entry: Idle = {
      request,
      session,
      timer: setTimeout(() => this.#expire(entry), request.idleMs),
    };
    this.#idle.push(entry);
  }

  #expire(entry: Idle): void {
    const index = this.#idle.indexOf(entry);
    if (index < 0) return;
    this.#idle.splice(index, 1);
    clearTimeout(entry.timer);
    void this.#free(entry.request, entry.session);
  }

  // Closes the session (if any), then gives its room to the longest waiters that fit: a
  // session still saying QUIT counts, so a host never sees one more than its limit.
  async #free(request: Settled, session: RelaySession | undefined): Promise<void> {
    if (session) await session.close().catch(() => {});
    for (const scope of request.scopes) {
      const left = this.active(scope.key) - 1;
      if (left > 0) this.#counts.set(scope.key, left);
      else this.#counts.delete(scope.key);
    }
    this.#total--;
    for (let i = 0; i < this.#waiters.length;) {
      const waiter = this.#waiters[i]!;
      if (!this.#hasRoom(waiter.request)) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      this.#take(waiter.request);
      waiter.grant(this.#lease(waiter.request, undefined));
    }
  }
}
