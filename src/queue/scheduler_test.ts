import { assertEquals, assertTrue } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { ManualClock } from "./clock.ts";
import type { QueuedEnvelope } from "./envelope.ts";
import { type DeliveryOutcome, startScheduler } from "./scheduler.ts";
import { openQueue, type Queue } from "./sqlite_store.ts";

/** Waits, bounded in real time and generously (a loaded disk is slow), for the condition. */
async function settle(queue: Queue, until: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assertTrue(until(), "the scheduler did not settle");
  void queue;
}

function commitOne(queue: Queue, rcpt = "u@example.test") {
  return queue.commit({
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode("Subject: s\r\n\r\nb\r\n"),
    envelopes: [{ rcpt, action: "local" }],
  });
}

Deno.test("startScheduler() delivers committed envelopes and removes them from the queue", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const delivered: string[] = [];
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: (e) => {
      delivered.push(e.rcpt);
      return Promise.resolve({ kind: "ok" });
    },
  });
  await commitOne(queue, "a@example.test");
  await commitOne(queue, "b@example.test");
  await settle(queue, () => queue.stats().messages === 0);
  assertEquals(delivered.sort(), ["a@example.test", "b@example.test"]);
  await scheduler.stop();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("startScheduler() retries a temporary failure at arrival + 10 s × attempts²", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const queue = await openQueue(dir, { now: () => clock.now() });
  const outcomes: DeliveryOutcome[] = [
    { kind: "tempfail", reason: "busy" },
    { kind: "tempfail", reason: "busy" },
    { kind: "ok" },
  ];
  const attempts: number[] = [];
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    deliver: (e: QueuedEnvelope) => {
      attempts.push(e.attempts);
      return Promise.resolve(outcomes.shift()!);
    },
  });
  await commitOne(queue);
  await settle(queue, () => queue.envelopes()[0]?.attempts === 1);
  const first = queue.envelopes()[0]!;
  assertEquals(first.nextTry - clock.now(), 10_000);
  clock.advance(9_999);
  assertEquals(attempts.length, 1);
  clock.advance(1);
  await settle(queue, () => queue.envelopes()[0]?.attempts === 2);
  assertEquals(queue.envelopes()[0]!.nextTry - clock.now(), 30_000);
  clock.advance(30_000);
  await settle(queue, () => queue.stats().messages === 0);
  assertEquals(attempts, [0, 1, 2]);
  await scheduler.stop();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("startScheduler() delivers what was queued before a restart, flagged as recovered", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const first = await openQueue(dir, { now: () => clock.now() });
  await commitOne(first);
  first.close();
  clock.advance(1000);
  const queue = await openQueue(dir, { now: () => clock.now() });
  const seen: boolean[] = [];
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    deliver: (_e, _c, context) => {
      seen.push(context.recovered);
      return Promise.resolve({ kind: "ok" });
    },
  });
  await settle(queue, () => queue.stats().messages === 0);
  assertEquals(seen, [true]);
  await scheduler.stop();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("startScheduler() marks a permanent failure and keeps it for the bounce", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: () => Promise.resolve({ kind: "permfail", reason: "no such user" }),
  });
  await commitOne(queue);
  await settle(queue, () => queue.stats().failed === 1);
  assertEquals(queue.envelopes()[0]?.lastError, "no such user");
  await scheduler.stop();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("startScheduler() hands a message's DSN RET and ENVID to each attempt, fresh and retried", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const queue = await openQueue(dir, { now: () => clock.now() });
  const seen: string[] = [];
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    deliver: (e, _content, context) => {
      seen.push(`${e.rcpt} ${context.dsnRet ?? "-"} ${context.dsnEnvid ?? "-"}`);
      // The first attempt (from memory after the commit) fails; the retry reads the queue.
      return Promise.resolve(
        e.attempts === 0 ? { kind: "tempfail", reason: "busy" } : { kind: "ok" },
      );
    },
  });
  await queue.commit({
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode("Subject: s\r\n\r\nb\r\n"),
    envelopes: [{ rcpt: "u@example.test", action: "local" }],
    dsnRet: "HDRS",
    dsnEnvid: "ENV-7",
  });
  await commitOne(queue, "plain@example.test");
  await settle(queue, () => queue.envelopes().every((e) => e.attempts === 1));
  clock.advance(10_000);
  await settle(queue, () => queue.stats().messages === 0);
  assertEquals(seen.sort(), [
    "plain@example.test - -",
    "plain@example.test - -",
    "u@example.test HDRS ENV-7",
    "u@example.test HDRS ENV-7",
  ]);
  await scheduler.stop();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});
