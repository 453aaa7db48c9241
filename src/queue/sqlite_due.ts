// Which envelopes are due: queued ones whose next try has come, settled ones whose report
// is still to be queued, when the next one falls due, and `smtpctl schedule all`. Only
// envelopes no live process holds are picked, and picking leases them.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DueEnvelope, EnvelopeState, QueuedEnvelope } from "./envelope.ts";
import { FREE_OF_LEASE, type Leases } from "./sqlite_leases.ts";
import { ENVELOPE_COLUMNS, type EnvelopeRow, rowToEnvelope } from "./sqlite_rows.ts";

/** The selection of due work from the queue file, for one process's leases. */
export class DueEnvelopes {
  #leases: Leases;
  #now: () => number;
  #stmt: Record<"due" | "reports" | "schedule" | "nextTry", StatementSync>;

  constructor(db: DatabaseSync, leases: Leases, now: () => number) {
    this.#leases = leases;
    this.#now = now;
    const from = "FROM envelopes e JOIN messages m USING (msgid)";
    this.#stmt = {
      due: db.prepare(
        `SELECT ${ENVELOPE_COLUMNS}, m.size ${from} WHERE e.state = 'queued' AND e.paused = 0 AND e.next_try <= ? AND ${FREE_OF_LEASE} ORDER BY e.next_try LIMIT ?`,
      ),
      reports: db.prepare(
        `SELECT ${ENVELOPE_COLUMNS}, e.state ${from} WHERE e.state IN ('failed', 'delivered') AND ${FREE_OF_LEASE} LIMIT ?`,
      ),
      schedule: db.prepare(
        "UPDATE envelopes SET next_try = ? WHERE state = 'queued' AND paused = 0 AND next_try > ? AND (lease_owner IS NULL OR lease_until <= ?)",
      ),
      nextTry: db.prepare(
        "SELECT min(next_try) AS at FROM envelopes WHERE state = 'queued' AND paused = 0 AND lease_owner IS NULL",
      ),
    };
  }

  /** Leases queued envelopes due at `now`, oldest due first, with their messages' sizes. */
  claimDue(now: number, limit: number): DueEnvelope[] {
    return this.#leases.claim(() =>
      (this.#stmt.due.all(now, now, limit) as unknown as (EnvelopeRow & { size: number })[])
        .map((row) => ({ ...rowToEnvelope(row), size: row.size }))
    );
  }

  /** Leases failed and delivered envelopes whose reports are still to be queued. */
  claimReports(limit: number): (QueuedEnvelope & { state: EnvelopeState })[] {
    return this.#leases.claim(() =>
      (this.#stmt.reports.all(this.#now(), limit) as unknown as (EnvelopeRow & {
        state: EnvelopeState;
      })[]).map((row) => ({ ...rowToEnvelope(row), state: row.state }))
    );
  }

  /** Makes every free queued envelope due at `now`; returns how many. */
  scheduleAll(now: number): number {
    return Number(this.#stmt.schedule.run(now, now, now).changes);
  }

  /** When the earliest free queued envelope is due, if any. */
  nextTry(): number | undefined {
    return (this.#stmt.nextTry.get() as { at: number | null }).at ?? undefined;
  }
}
