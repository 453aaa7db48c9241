// ConnectionPool's bookkeeping: the limits per next hop and in all, sessions handed to the
// next envelope of the same hop, and the room a closed session frees going to a waiter.

import { assertEquals } from "../../test/assert.ts";
import { ConnectionPool } from "./pool.ts";
import type { RelaySession } from "./session.ts";

/** Stands in for a session: the pool only asks whether it is usable and closes it. */
function session(usable = true) {
  const s = { usable, closed: 0, close: () => Promise.resolve(void s.closed++) };
  return s as unknown as RelaySession & { closed: number };
}

Deno.test("ConnectionPool holds the per-destination limit and hands sessions over", async () => {
  const pool = new ConnectionPool({
    perDestination: 2,
    total: 10,
    transactionsPerSession: 3,
    idleMs: 0,
  });
  const first = await pool.acquire("a");
  const second = await pool.acquire("a");
  let third: Awaited<ReturnType<typeof pool.acquire>> | undefined;
  const waiting = pool.acquire("a").then((lease) => (third = lease));
  const other = await pool.acquire("b");
  assertEquals([pool.active("a"), pool.active("b"), pool.active()], [2, 1, 3]);
  assertEquals(third, undefined);
  const s1 = session();
  await first.release(s1);
  await waiting;
  // The waiter got the session itself, and the slot with it.
  assertEquals(third?.session, s1);
  assertEquals([s1.closed, pool.active("a")], [0, 2]);
  // Without a waiter a session is closed and its room freed.
  await third!.release(s1);
  assertEquals([s1.closed, pool.active("a")], [1, 1]);
  await second.release(undefined);
  await other.release(undefined);
  assertEquals(pool.active(), 0);
});

Deno.test("ConnectionPool closes a session that is spent or unusable instead of passing it on", async () => {
  const pool = new ConnectionPool({
    perDestination: 1,
    total: 10,
    transactionsPerSession: 2,
    idleMs: 0,
  });
  const lease = await pool.acquire("a");
  const next = pool.acquire("a");
  const broken = session(false);
  await lease.release(broken);
  const granted = await next;
  assertEquals([broken.closed, granted.session], [1, undefined]);
  const s = session();
  await granted.release(s); // first transaction on s: no waiter, so closed
  assertEquals(s.closed, 1);
  // Two transactions is the limit: the second hand-over does not happen.
  const a = await pool.acquire("a");
  const b = pool.acquire("a");
  const spent = session();
  await a.release(spent);
  const c = await b;
  assertEquals(c.session, spent);
  const d = pool.acquire("a");
  await c.release(spent);
  assertEquals([(await d).session, spent.closed], [undefined, 1]);
  await (await d).release(undefined);
  assertEquals(pool.active(), 0);
});

Deno.test("ConnectionPool holds the total limit across destinations", async () => {
  const pool = new ConnectionPool({
    perDestination: 5,
    total: 2,
    transactionsPerSession: 10,
    idleMs: 0,
  });
  const a = await pool.acquire("a");
  const b = await pool.acquire("b");
  let granted = false;
  const c = pool.acquire("c").then((lease) => {
    granted = true;
    return lease;
  });
  await Promise.resolve();
  assertEquals([granted, pool.active()], [false, 2]);
  await a.release(undefined);
  const lease = await c;
  assertEquals([granted, pool.active("c"), pool.active()], [true, 1, 2]);
  await lease.release(undefined);
  await b.release(undefined);
  assertEquals(pool.active(), 0);
});

Deno.test("ConnectionPool keeps a finished session idle for the next envelope, and closes it on close()", async () => {
  const pool = new ConnectionPool({
    perDestination: 2,
    total: 10,
    transactionsPerSession: 10,
    idleMs: 60_000,
  });
  const first = await pool.acquire("a");
  const s = session();
  await first.release(s);
  assertEquals([s.closed, pool.active("a")], [0, 1]);
  const again = await pool.acquire("a");
  assertEquals(again.session, s);
  await again.release(s);
  await pool.close();
  assertEquals([s.closed, pool.active()], [1, 0]);
  // After close(), a released session is closed at once.
  const late = await pool.acquire("a");
  const t = session();
  await late.release(t);
  assertEquals([t.closed, pool.active()], [1, 0]);
});
