// The operator's writes to the queue file (smtpctl schedule, remove, pause and resume
// envelope): each picks envelopes by envelope id, message id or all, and touches only
// queued envelopes no live process holds, so a delivery under way is never cut short.

import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Which envelopes a command is for: one envelope, one message's, or every one. */
export type EnvelopeSelector = { readonly all: true } | { readonly id: string };

// An id is 16 hex digits (an envelope) or 8 (its message's); "all" matches every row.
const MATCH = "(? = 1 OR evpid = ? OR msgid = ?)";
const FREE = "(lease_owner IS NULL OR lease_until <= ?)";

/** What `smtpctl remove` did: envelopes removed, and those left to their deliveries. */
export interface RemoveCount {
  readonly removed: number;
  readonly inFlight: number;
}

/** The operator's commands on the queue file. */
export class QueueAdmin {
  #stmt: Record<"schedule" | "pause" | "remove" | "held" | "orphans", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#stmt = {
      schedule: db.prepare(
        `UPDATE envelopes SET next_try = ? WHERE state = 'queued' AND paused = 0 AND ${FREE} AND ${MATCH}`,
      ),
      pause: db.prepare(
        `UPDATE envelopes SET paused = ? WHERE state = 'queued' AND paused != ? AND ${MATCH}`,
      ),
      remove: db.prepare(`DELETE FROM envelopes WHERE state = 'queued' AND ${FREE} AND ${MATCH}`),
      held: db.prepare(
        `SELECT count(*) AS n FROM envelopes WHERE state = 'queued' AND NOT ${FREE} AND ${MATCH}`,
      ),
      orphans: db.prepare(
        "DELETE FROM messages WHERE msgid NOT IN (SELECT DISTINCT msgid FROM envelopes)",
      ),
    };
  }

  /** Makes the selected free envelopes due at `now`; returns how many. */
  schedule(selector: EnvelopeSelector, now: number): number {
    return Number(this.#stmt.schedule.run(now, now, ...matchArgs(selector)).changes);
  }

  /** Suspends (or resumes) scheduling of the selected envelopes; returns how many changed. */
  pause(selector: EnvelopeSelector, paused: boolean): number {
    const flag = paused ? 1 : 0;
    return Number(this.#stmt.pause.run(flag, flag, ...matchArgs(selector)).changes);
  }

  /**
   * Removes the selected free envelopes, and messages left with none; returns how many,
   * and how many selected it left because a process is delivering them.
   */
  remove(selector: EnvelopeSelector, now: number): RemoveCount {
    const removed = Number(this.#stmt.remove.run(now, ...matchArgs(selector)).changes);
    if (removed > 0) this.#stmt.orphans.run();
    const held = this.#stmt.held.get(now, ...matchArgs(selector)) as { n: number };
    return { removed, inFlight: held.n };
  }
}

function matchArgs(selector: EnvelopeSelector): [number, string, string] {
  if ("all" in selector) return [1, "", ""];
  return [0, selector.id, selector.id];
}
