// Outbound connections shared between envelopes: at most so many at once to one next hop
// and in all; a session that has finished a transaction goes to the next envelope for the
// same hop (RFC 5321 §3.3: many transactions per session), waiting idle a short while for
// one, as Postfix's connection cache does, and is closed after that or after so many.

import type { RelaySession } from "./session.ts";

/** Limits of a {@link ConnectionPool}. */
export interface PoolLimits {
  /** Sessions open at once to one next hop (Postfix's default_destination_concurrency_limit). */
  readonly perDestination: number;
  /** Sessions open at once in all. */
  readonly total: number;
  /** Transactions one session carries before it is closed (OpenSMTPD's 100 mails). */
  readonly transactionsPerSession: number;
  /** How long a finished session waits for another envelope before it is closed; 0: not. */
  readonly idleMs: number;
}

/** The defaults: 20 per destination, 100 in all, 100 messages a session, 3 s idle. */
export const DEFAULT_POOL_LIMITS: PoolLimits = Object.freeze({
  perDestination: 20,
  total: 100,
  transactionsPerSession: 100,
  idleMs: 3_000,
});

/** A slot for one envelope: with a session already open to the hop, or none yet. */
export interface Lease {
  readonly session?: RelaySession;
  /** Gives the slot back, with the session when it may carry more. Call exactly once. */
  release(session: RelaySession | undefined): Promise<void>;
}

interface Waiter {
  readonly key: string;
  readonly grant: (lease: Lease) => void;
}

interface Idle {
  readonly key: string;
  readonly session: RelaySession;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/** Sessions and slots per next hop. */
export class ConnectionPool {
  readonly #limits: PoolLimits;
  readonly #active = new Map<string, number>();
  readonly #uses = new WeakMap<RelaySession, number>();
  #total = 0;
  #waiters: Waiter[] = [];
  #idle: Idle[] = [];
  #closed = false;

  constructor(limits: Partial<PoolLimits> = {}) {
    this.#limits = { ...DEFAULT_POOL_LIMITS, ...limits };
  }

  /** Sessions open (or opening, or idle) now, to `key` or in all. */
  active(key?: string): number {
    return key === undefined ? this.#total : this.#active.get(key) ?? 0;
  }

  /** Waits for a slot to the next hop `key`: an idle session of it first, else room for one. */
  acquire(key: string): Promise<Lease> {
    const idle = this.#idle.findIndex((i) => i.key === key);
    if (idle >= 0) {
      const [taken] = this.#idle.splice(idle, 1);
      clearTimeout(taken!.timer);
      return Promise.resolve(this.#lease(key, taken!.session));
    }
    // Room taken by another hop's idle session is given back for a waiting one.
    if (this.#total >= this.#limits.total && this.#idle.length > 0) this.#expire(this.#idle[0]!);
    if (this.#hasRoom(key)) {
      this.#take(key);
      return Promise.resolve(this.#lease(key, undefined));
    }
    return new Promise((grant) => this.#waiters.push({ key, grant }));
  }

  /** Closes the idle sessions; sessions released afterwards are closed at once. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all(idle.map((i) => {
      clearTimeout(i.timer);
      return this.#free(i.key, i.session);
    }));
  }

  #hasRoom(key: string): boolean {
    return this.#total < this.#limits.total && this.active(key) < this.#limits.perDestination;
  }

  #take(key: string): void {
    this.#active.set(key, this.active(key) + 1);
    this.#total++;
  }

  #lease(key: string, session: RelaySession | undefined): Lease {
    let released = false;
    return {
      ...(session ? { session } : {}),
      release: async (used) => {
        if (released) return;
        released = true;
        await this.#release(key, used);
      },
    };
  }

  async #release(key: string, session: RelaySession | undefined): Promise<void> {
    if (!session) return await this.#free(key, undefined);
    const uses = (this.#uses.get(session) ?? 0) + 1;
    this.#uses.set(session, uses);
    if (this.#closed || !session.usable || uses >= this.#limits.transactionsPerSession) {
      return await this.#free(key, session);
    }
    const next = this.#waiters.findIndex((w) => w.key === key);
    if (next >= 0) {
      // The slot and the session pass together to the next envelope for this hop.
      const [waiter] = this.#waiters.splice(next, 1);
      waiter!.grant(this.#lease(key, session));
      return;
    }
    if (this.#limits.idleMs <= 0) return await this.#free(key, session);
    const entry: Idle = {
      key,
      session,
      timer: setTimeout(() => this.#expire(entry), this.#limits.idleMs),
    };
    this.#idle.push(entry);
  }

  #expire(entry: Idle): void {
    const index = this.#idle.indexOf(entry);
    if (index < 0) return;
    this.#idle.splice(index, 1);
    clearTimeout(entry.timer);
    void this.#free(entry.key, entry.session);
  }

  // Closes the session (if any) and gives its room to the longest waiter that fits.
  async #free(key: string, session: RelaySession | undefined): Promise<void> {
    const left = this.active(key) - 1;
    if (left > 0) this.#active.set(key, left);
    else this.#active.delete(key);
    this.#total--;
    const index = this.#waiters.findIndex((w) => this.#hasRoom(w.key));
    if (index >= 0) {
      const [waiter] = this.#waiters.splice(index, 1);
      this.#take(waiter!.key);
      waiter!.grant(this.#lease(waiter!.key, undefined));
    }
    if (session) await session.close();
  }
}
