// Leases: an envelope being delivered names the process holding it (host:pid) until a
// deadline, so a daemon and a `queue flush` sharing the file never deliver the same
// envelope twice; the leases of a holder that died are freed for another try.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { rollback } from "./sqlite_errors.ts";

/** How long a lease lasts, should its holder die without a trace. */
export const DEFAULT_LEASE_MS = 30 * 60 * 1000;

/** How long a taken-back envelope is remembered, should it not be claimed at once. */
const TAKEN_BACK_MEMORY_MS = 60 * 60 * 1000;

/** The SQL condition (one `?`: now) of an envelope `e` nobody holds. */
export const FREE_OF_LEASE = "(e.lease_owner IS NULL OR e.lease_until <= ?)";

/** Options of {@link Leases}. */
export interface LeaseOptions {
  /** The name leases are taken under (default host:pid). */
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

  constructor(db: DatabaseSync, options: LeaseOptions) {
    this.#db = db;
    this.#now = options.now;
    this.owner = options.owner ?? defaultOwner();
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
   * with the same pid. Returns how many envelopes were freed.
   */
  releaseStale(options: { own?: boolean; isAlive?: (pid: number) => boolean } = {}): number {
    const isAlive = options.isAlive ?? processIsAlive;
    const forgetBefore = Date.now() - TAKEN_BACK_MEMORY_MS;
    for (const [evpid, at] of this.#takenBack) if (at < forgetBefore) this.#takenBack.delete(evpid);
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
        const evpids = this.#db.prepare("SELECT evpid FROM envelopes WHERE lease_owner = ?")
          .all(owner) as { evpid: string }[];
        for (const { evpid } of evpids) this.#takenBack.set(evpid, Date.now());
        released += Number(
          this.#db.prepare(
            "UPDATE envelopes SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
          ).run(owner).changes,
        );
      }
    }
    return released;
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
