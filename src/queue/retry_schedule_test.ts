// The retry schedule on real queue rows, with a clock the test moves: relayed envelopes on
// OpenSMTPD's 400 s × n², local ones on 10 s × n², `queue retry` bases, held-back envelopes.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import type { DeliveryOutcome } from "./attempt.ts";
import { ManualClock } from "./clock.ts";
import { nextRetry } from "./retry_schedule.ts";
import { startScheduler } from "./scheduler.ts";
import { openQueue } from "./sqlite_store.ts";

async function settle(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 4000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assertTrue(check(), `timed out waiting for ${what}`);
}

/** A queue whose `relay` action is the mta's and `local` the mda's; every try fails. */
async function failingQueue(
  options: {
    retryBase?: (agent: "mda" | "mta") => number | undefined;
    outcome?: (attempt: number) => DeliveryOutcome;
  } = {},
) {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const queue = await openQueue(dir, { now: () => clock.now() });
  const tries: string[] = [];
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    agentOf: (e) => e.action === "relay" ? "mta" : "mda",
    ...(options.retryBase ? { retryBase: options.retryBase } : {}),
    deliver: (e) => {
      tries.push(e.rcpt);
      return Promise.resolve(
        options.outcome?.(tries.length) ?? { kind: "tempfail", reason: "421 4.3.2 try later" },
      );
    },
  });
  return {
    queue,
    clock,
    tries,
    async commit(action: string) {
      await queue.commit({
        sender: "a@client.test",
        helo: "client.test",
        src: "127.0.0.1",
        content: new TextEncoder().encode("Subject: s\r\n\r\nbody\r\n"),
        envelopes: [{ rcpt: `${action}@example.test`, action }],
      });
    },
    row() {
      const [e] = queue.envelopes();
      return { attempts: e?.attempts, nextTry: e?.nextTry };
    },
    async stop() {
      await scheduler.stop();
      queue.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("nextRetry() is arrival + base × n², stepped past now as scheduler_next() does", () => {
  const base = 400_000;
  assertEquals(nextRetry({ createdAt: 0, retries: 1, baseMs: base, now: 0 }), 400_000);
  assertEquals(nextRetry({ createdAt: 0, retries: 2, baseMs: base, now: 400_000 }), 1_600_000);
  // A try that ran late (a paused queue, a slow host): the next step still in the future.
  assertEquals(nextRetry({ createdAt: 0, retries: 2, baseMs: base, now: 5_000_000 }), 6_400_000);
  assertEquals(nextRetry({ createdAt: 0, retries: 2, baseMs: base, now: 6_400_000 }), 10_000_000);
  assertEquals(nextRetry({ createdAt: 7, retries: 3, baseMs: 10_000, now: 8 }), 90_007);
});

Deno.test("a relayed envelope is retried at arrival + 400 s × n² in the queue rows", async () => {
  const h = await failingQueue();
  await h.commit("relay");
  const arrived = h.clock.now();
  for (let n = 1; n <= 4; n++) {
    await settle(() => h.row().attempts === n, `deferral ${n}`);
    assertEquals(h.row(), { attempts: n, nextTry: arrived + 400_000 * n * n });
    h.clock.advance(h.row().nextTry! - h.clock.now() - 1);
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(h.tries.length, n, "not tried before it is due");
    h.clock.advance(1);
  }
  await h.stop();
});

Deno.test("local and relayed envelopes each follow their agent's schedule", async () => {
  const h = await failingQueue();
  await h.commit("local");
  await h.commit("relay");
  const arrived = h.clock.now();
  await settle(() => h.queue.envelopes().every((e) => e.attempts === 1), "two deferrals");
  const next = Object.fromEntries(h.queue.envelopes().map((e) => [e.action, e.nextTry]));
  assertEquals(next, { local: arrived + 10_000, relay: arrived + 400_000 });
  await h.stop();
});

Deno.test("queue retry bases replace the compiled-in ones per agent", async () => {
  const h = await failingQueue({ retryBase: (agent) => agent === "mta" ? 2 : undefined });
  await h.commit("relay");
  await h.commit("local");
  const arrived = h.clock.now();
  await settle(() => h.queue.envelopes().every((e) => e.attempts === 1), "two deferrals");
  const next = Object.fromEntries(h.queue.envelopes().map((e) => [e.action, e.nextTry]));
  assertEquals(next, { local: arrived + 10_000, relay: arrived + 2_000 });
  h.clock.advance(2_000);
  const relayed = () => h.queue.envelopes().find((e) => e.action === "relay");
  await settle(() => relayed()?.attempts === 2, "the second try");
  assertEquals(relayed()?.nextTry, arrived + 8_000);
  await h.stop();
});

Deno.test("an envelope held back by its backend keeps its attempt count and comes due when told", async () => {
  const clock0 = new ManualClock().now();
  const h = await failingQueue({
    outcome: (n) =>
      n === 1
        ? { kind: "tempfail", reason: "4.7.0 rate limit", notBefore: clock0 + 7_000 }
        : { kind: "ok" },
  });
  await h.commit("relay");
  await settle(() => h.row().nextTry === clock0 + 7_000, "the postponement");
  assertEquals(h.row().attempts, 0);
  assertEquals(h.queue.envelopes()[0]?.lastError, "4.7.0 rate limit");
  h.clock.advance(7_000);
  await settle(() => h.queue.envelopes().length === 0, "the delivery at its moment");
  assertEquals(h.tries.length, 2);
  await h.stop();
});

Deno.test("a schedule command in the scheduler's own process makes a deferred envelope go at once", async () => {
  const h = await failingQueue({
    outcome: (n) => n === 1 ? { kind: "tempfail", reason: "421 4.3.2 try later" } : { kind: "ok" },
  });
  await h.commit("relay");
  await settle(() => h.row().attempts === 1, "the deferral");
  // Due in 400 s; the clock does not move, nothing but the command makes it due.
  assertEquals(h.queue.schedule({ all: true }, h.clock.now()), 1);
  await settle(() => h.queue.envelopes().length === 0, "the delivery after schedule");
  assertEquals(h.tries.length, 2);
  await h.stop();
});
