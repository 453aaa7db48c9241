// Leases: an envelope being delivered names the process holding it (lease_holder.ts) until a
// deadline, so a daemon and a `queue flush` sharing the file never deliver the same
// envelope twice; the leases of a holder that died are freed for another try.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  type HolderState,
  holderState,
  type LeaseHolder,
  ownerName,
  parseOwner,
  sameProcess,
} from "./lease_holder.ts";
import { rollback } from "./sqlite_errors.ts";

/** How long a lease lasts, should its holder die without a trace. */
export const DEFAULT_LEASE_MS = 30 * 60 * 1000;

/** How long a taken-back envelope is remembered, should it not be claimed at once. */
const TAKEN_BACK_MEMORY_MS = 60 * 60 * 1000;

/** The SQL condition (one `?`: now) of an envelope `e` nobody holds. */
export const FREE_OF_LEASE = "(e.lease_owner IS NULL OR e.lease_until <= ?)";

/** Options of {@link Leases}. */
export interface LeaseOptions {
  /** The name leases are taken under (default host:pid@start, lease_holder.ts). */
  readonly owner?: string;
  readonly leaseMs?: number;
  readonly now: () => number;
}

/** The leases of one process on the queue file. */
export class Leases {
  /** The name this process takes leases under. */
  readonly owner: string;
  #db: DatabaseSync;
  #now: () => number;
  #leaseMs: number;
  #lease: StatementSync;
  /** Envelopes whose lease this process took back from a gone holder, and when. */
  #takenBack = new Map<string, number>();
  #undecided: readonly string[] = [];

  constructor(db: DatabaseSync, options: LeaseOptions) {
    this.#db = db;
    this.#now = options.now;
    this.owner = options.owner ?? ownerName();
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#lease = db.prepare(
      "UPDATE envelopes SET lease_owner = ?, lease_until = ? WHERE evpid = ?",
    );
  }

  /** Until when a lease taken at `now` holds. */
  until(now: number): number {
    return now + this.#leaseMs;
  }

  // A claim is its own short transaction: the rows read are leased before anyone else
  // can read them as free. If it cannot be written (busy, full disk), nothing is leased
  // and the error goes to the caller, which tries again later.
  /** Leases to this process the envelopes `select` reads, and returns them. */
  claim<T extends { readonly evpid: string }>(select: () => T[]): T[] {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const rows = select();
      const until = this.until(this.#now());
      for (const row of rows) this.#lease.run(this.owner, until, row.evpid);
      this.#db.exec("COMMIT");
      return rows;
    } catch (error) {
      rollback(this.#db);
      throw error;
    }
  }

  /**
   * Frees the leases of processes on this host that are gone (killed, crashed), and with
   * `own` those under this process's name — at start-up they are from an earlier life
   * with the same pid. A holder whose state cannot be told keeps its leases until they
   * end, and is named in {@link undecided}. Returns how many envelopes were freed.
   */
  releaseStale(
    options: { own?: boolean; stateOf?: (holder: LeaseHolder) => HolderState } = {},
  ): number {
    const stateOf = options.stateOf ?? holderState;
    const forgetBefore = Date.now() - TAKEN_BACK_MEMORY_MS;
    for (const [evpid, at] of this.#takenBack) if (at < forgetBefore) this.#takenBack.delete(evpid);
    const owners = this.#db.prepare(
      "SELECT DISTINCT lease_owner AS owner FROM envelopes WHERE lease_owner IS NOT NULL",
    ).all() as { owner: string }[];
    const me = parseOwner(this.owner);
    const host = me?.host;
    const undecided: string[] = [];
    let released = 0;
    for (const { owner } of owners) {
      const holder = parseOwner(owner);
      const mine = owner === this.owner ||
        (me !== undefined && holder !== undefined && sameProcess(holder, me));
      let free = mine && options.own === true;
      if (!mine && holder !== undefined && holder.host === host) {
        const state = stateOf(holder);
        if (state === "unknown") undecided.push(owner);
        free = state === "gone";
      }
      if (!free) continue;
      const evpids = this.#db.prepare("SELECT evpid FROM envelopes WHERE lease_owner = ?")
        .all(owner) as { evpid: string }[];
      for (const { evpid } of evpids) this.#takenBack.set(evpid, Date.now());
      released += Number(
        this.#db.prepare(
          "UPDATE envelopes SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
        ).run(owner).changes,
      );
    }
    this.#undecided = undecided;
    return released;
  }

  /** The holders the last {@link releaseStale} could not tell alive or gone. */
  get undecided(): readonly string[] {
    return this.#undecided;
  }

  /**
   * Whether this process took the envelope's lease back from a gone holder (once per
   * release): that holder may have delivered it without recording so, and a Maildir
   * delivery then looks for its file before writing it again.
   */
  takenBack(evpid: string): boolean {
    return this.#takenBack.delete(evpid);
  }
}
