// Taking back, from outside a running daemon, the leases of processes that are gone: the
// privileged parent does it before it starts the SMTP front, which may not read /proc
// and so cannot tell a killed front's leases from a running one's (lease_holder.ts).

import { Leases } from "./sqlite_leases.ts";
import { openQueueDatabase } from "./sqlite_schema.ts";

/**
 * Frees, in the queue file `path` (when there is one), the leases of this host's processes
 * that are gone; returns how many envelopes were freed.
 */
export function releaseGoneLeases(path: string): number {
  try {
    Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  const db = openQueueDatabase(path);
  try {
    return new Leases(db, { now: Date.now }).releaseStale();
  } finally {
    db.close();
  }
}
