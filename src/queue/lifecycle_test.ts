// Every transition of an envelope's life, on a real queue file with a clock the test
// moves by hand: deliver, defer, retry, expire, bounce, warn — and the reports read back
// by a real MIME parser.

import { Buffer } from "node:buffer";
import { type ParsedMail, simpleParser } from "mailparser";
import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { rfc5322Date } from "../mail/mod.ts";
import type { DeliveryOutcome } from "./attempt.ts";
import { ManualClock } from "./clock.ts";
import type { NewMessage, QueuedEnvelope } from "./envelope.ts";
import { startScheduler } from "./scheduler.ts";
import { openQueue, type Queue } from "./sqlite_store.ts";

const HOUR = 3600_000;

function parseMail(raw: Uint8Array): Promise<ParsedMail> {
  return simpleParser(Buffer.from(raw));
}

interface Harness {
  queue: Queue;
  clock: ManualClock;
  /** Every attempt, in order: recipient, the attempt number and the clock's time. */
  attempts: { rcpt: string; sender: string; attempts: number; at: number }[];
  /** Reports delivered to their recipients (the original senders), and the clock's time. */
  reports: { rcpt: string; sender: string; text: string; raw: Uint8Array; at: number }[];
  /** Deliveries the scheduler has in flight. */
  readonly inFlight: number;
  stop(): Promise<void>;
}

/** A queue and scheduler whose delivery agent answers per recipient local part. */
async function harness(options: { ttlSeconds?: number; warnIntervals?: number[] } = {}) {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const queue = await openQueue(dir, {
    now: () => clock.now(),
    ...(options.ttlSeconds === undefined ? {} : { ttl: () => options.ttlSeconds }),
  });
  const h: Harness = {
    queue,
    clock,
    attempts: [],
    reports: [],
    get inFlight() {
      return scheduler.inFlight;
    },
    async stop() {
      await scheduler.stop();
      queue.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    hostname: "mx.example.test",
    reportBatchMs: 1000,
    ...(options.warnIntervals ? { warnIntervals: options.warnIntervals } : {}),
    routeReport: (rcpt) => rcpt.endsWith("@nowhere.test") ? undefined : { action: "reports" },
    deliver: (e: QueuedEnvelope, content: Uint8Array): Promise<DeliveryOutcome> => {
      if (e.action === "reports") {
        h.reports.push({
          rcpt: e.rcpt,
          sender: e.sender,
          text: new TextDecoder().decode(content),
          raw: content,
          at: clock.now(),
        });
        return Promise.resolve({ kind: "ok" });
      }
      h.attempts.push({ rcpt: e.rcpt, sender: e.sender, attempts: e.attempts, at: clock.now() });
      const local = e.rcpt.slice(0, e.rcpt.indexOf("@"));
      if (local.startsWith("perm")) {
        return Promise.resolve({ kind: "permfail", reason: "550 5.1.1 no such mailbox" });
      }
      // Reachable only from the moment its envelope expires: the last try is the one.
      if (local.startsWith("late") && clock.now() < e.expiresAt) {
        return Promise.resolve({ kind: "tempfail", reason: "451 4.3.0 not yet" });
      }
      if (local.startsWith("temp")) {
        return Promise.resolve({ kind: "tempfail", reason: "452 4.2.2 mailbox full" });
      }
      // Fails once, then is held back by its destination's pace for an hour at every try.
      if (local.startsWith("held")) {
        return Promise.resolve(
          e.attempts === 0 ? { kind: "tempfail", reason: "451 4.3.0 try later" } : {
            kind: "tempfail",
            reason: "4.7.0 pace of 1 mails per 1h reached",
            notBefore: clock.now() + HOUR,
          },
        );
      }
      return Promise.resolve({ kind: "ok" });
    },
  });
  return h;
}

function message(rcpts: string[], extra: Partial<NewMessage> = {}): NewMessage {
  return {
    sender: "alice@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode(
      "From: alice@client.test\r\nSubject: quarterly figures\r\n\r\nthe body line\r\n",
    ),
    envelopes: rcpts.map((rcpt) => ({ rcpt, action: "local" })),
    ...extra,
  };
}

/** Moves the clock in steps until the check holds (reports wait for their batch timer). */
async function advanceUntil(h: Harness, check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) {
    h.clock.advance(500);
    await new Promise((r) => setTimeout(r, 5));
  }
  await settle(check, what);
}

/**
 * Moves the clock, gives the scheduler a turn, and waits (real time, bounded) until the
 * deliveries that started have finished: a fixed real-time pause lost the race on a loaded
 * machine, and the fake clock then ran ahead of the deliveries it was meant to pace.
 */
async function step(h: Harness, ms: number): Promise<void> {
  h.clock.advance(ms);
  await new Promise((r) => setTimeout(r, 5));
  const deadline = Date.now() + 30_000;
  while (h.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assertEquals(h.inFlight, 0, `deliveries still running at ${h.clock.now()}`);
}

/**
 * Lets queued writes and deliveries run, then checks. The bound is real time, and generous:
 * a committed write waits for the disk, which on a loaded machine took over two seconds.
 */
async function settle(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assertTrue(check(), `timed out waiting for ${what}`);
}

Deno.test("a permanent failure is reported to the sender as an RFC 3464 report", async () => {
  const h = await harness();
  await h.queue.commit(
    message(["perm1@example.test", "perm2@example.test", "ok@example.test"], {
      dsnEnvid: "ENV-42",
    }),
  );
  await settle(() => h.attempts.length === 3, "three attempts");
  await settle(() => h.queue.stats().failed === 2, "two failed envelopes");
  assertEquals(h.reports.length, 0, "reports wait for the batch");
  await advanceUntil(h, () => h.reports.length === 1, "one report for both failures");
  const report = h.reports[0]!;
  assertEquals([report.rcpt, report.sender], ["alice@client.test", ""]);
  const parsed = await parseMail(report.raw);
  const type = parsed.headers.get("content-type") as {
    value: string;
    params: Record<string, string>;
  };
  assertEquals(type.value, "multipart/report");
  assertEquals(type.params["report-type"], "delivery-status");
  assertEquals(parsed.subject, "Delivery status notification: failed");
  assertMatch(parsed.from?.text ?? "", /MAILER-DAEMON@mx\.example\.test/);
  // The delivery-status part: one block per failed recipient.
  const status = parsed.text ?? "";
  assertStringIncludes(status, "Reporting-MTA: dns; mx.example.test");
  assertStringIncludes(status, "Original-Envelope-Id: ENV-42");
  for (const rcpt of ["perm1@example.test", "perm2@example.test"]) {
    assertStringIncludes(status, `Final-Recipient: rfc822; ${rcpt}`);
  }
  assertEquals(status.match(/Action: failed/g)?.length, 2);
  assertEquals(status.match(/Status: 5\.1\.1/g)?.length, 2);
  assertStringIncludes(status, "Diagnostic-Code: smtp; 550 5.1.1 no such mailbox");
  assertTrue(!status.includes("ok@example.test"), "the delivered recipient is not reported");
  // Without RET, a failure returns the whole message.
  const original = parsed.attachments.find((a) => a.contentType === "message/rfc822");
  assertTrue(original, "the original message is attached");
  assertStringIncludes(original.content.toString(), "the body line");
  // The failed envelopes went with the report's commit; only the report is left, delivered.
  await settle(() => h.queue.stats().messages === 0, "an empty queue");
  await h.stop();
});

Deno.test("no report for the null sender, for NOTIFY=NEVER, or when no rule routes it", async () => {
  const h = await harness();
  await h.queue.commit(message(["perm@example.test"], { sender: "" }));
  await h.queue.commit({
    ...message([]),
    envelopes: [{ rcpt: "perm@example.test", action: "local", dsnNotify: ["NEVER"] }],
  });
  await h.queue.commit(message(["perm@example.test"], { sender: "bob@nowhere.test" }));
  await settle(() => h.attempts.length === 3, "three attempts");
  await advanceUntil(h, () => h.queue.stats().messages === 0, "an empty queue");
  assertEquals(h.reports, []);
  await h.stop();
});

Deno.test("NOTIFY=SUCCESS gets a delivered report with the headers only", async () => {
  const h = await harness();
  await h.queue.commit({
    ...message([]),
    envelopes: [{
      rcpt: "ok@example.test",
      action: "local",
      dsnNotify: ["SUCCESS"],
      dsnOrcpt: "rfc822;Ok+Tag@example.test", // as the envelope keeps it: xtext decoded
    }],
  });
  await settle(() => h.attempts.length === 1, "the delivery");
  await advanceUntil(h, () => h.reports.length === 1, "the success report");
  const parsed = await parseMail(h.reports[0]!.raw);
  assertEquals(parsed.subject, "Delivery status notification: delivered");
  assertStringIncludes(parsed.text ?? "", "Action: delivered");
  assertStringIncludes(parsed.text ?? "", "Status: 2.0.0");
  assertStringIncludes(parsed.text ?? "", "Original-Recipient: rfc822; Ok+Tag@example.test");
  const headers = parsed.attachments.find((a) => a.contentType === "text/rfc822-headers");
  assertTrue(headers, "the original headers are attached");
  assertStringIncludes(headers.content.toString(), "Subject: quarterly figures");
  assertTrue(!h.reports[0]!.text.includes("the body line"), "the body is not returned");
  await settle(() => h.queue.stats().messages === 0, "an empty queue");
  await h.stop();
});

Deno.test("RET=HDRS returns only the headers of a failed message", async () => {
  const h = await harness();
  await h.queue.commit(message(["perm@example.test"], { dsnRet: "HDRS" }));
  await settle(() => h.queue.stats().failed === 1, "the failure");
  await advanceUntil(h, () => h.reports.length === 1, "the report");
  assertStringIncludes(h.reports[0]!.text, "Content-Type: text/rfc822-headers");
  assertTrue(!h.reports[0]!.text.includes("the body line"));
  await h.stop();
});

Deno.test("a deferred local envelope is retried at arrival + 10 s × n², never before", async () => {
  const h = await harness();
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.attempts.length === 1, "the first attempt");
  const arrived = h.clock.now();
  // Tries at 10 s, 40 s and 90 s after the arrival: 10, 30 and 50 s after each failure.
  for (const [n, delay] of [[1, 10_000], [2, 30_000], [3, 50_000]] as const) {
    await settle(() => h.queue.envelopes()[0]?.attempts === n, "the deferral");
    const [envelope] = h.queue.envelopes();
    assertEquals(envelope?.nextTry, arrived + 10_000 * n * n);
    assertEquals(envelope?.nextTry, h.clock.now() + delay);
    assertEquals(envelope?.lastError, "452 4.2.2 mailbox full");
    h.clock.advance(delay - 1);
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(h.attempts.length, n, "not tried before it is due");
    h.clock.advance(1);
    await settle(() => h.attempts.length === n + 1, "the retry");
  }
  assertEquals(h.attempts.map((a) => a.attempts), [0, 1, 2, 3]);
  await h.stop();
});

Deno.test("an envelope that outlives its ttl expires and is bounced with 5.4.7", async () => {
  const h = await harness({ ttlSeconds: 3600 });
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.attempts.length === 1, "the first attempt");
  // Move an hour forward in steps; every due retry runs, the last one at the expiry.
  for (let i = 0; i < 120 && h.reports.length === 0; i++) {
    await step(h, 60_000);
  }
  await settle(() => h.reports.length === 1, "the expiry report");
  const expiredAfter = h.clock.now() - 1_700_000_000_000;
  assertTrue(expiredAfter >= HOUR && expiredAfter <= HOUR + 120_000, `expired at ${expiredAfter}`);
  const parsed = await parseMail(h.reports[0]!.raw);
  assertStringIncludes(parsed.text ?? "", "Action: failed");
  assertStringIncludes(parsed.text ?? "", "Status: 5.4.7");
  assertStringIncludes(h.reports[0]!.text, "Envelope expired after 1 hour in the queue");
  assertStringIncludes(h.reports[0]!.text, "last error: 452 4.2.2 mailbox full");
  await settle(() => h.queue.stats().messages === 0, "an empty queue");
  await h.stop();
});

Deno.test("an envelope due at its expiry gets that last try before it is reported", async () => {
  const h = await harness({ ttlSeconds: 12 });
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.queue.envelopes()[0]?.attempts === 1, "the first deferral");
  const arrived = h.clock.now();
  await step(h, 10_000); // the retry at arrival + 10 s
  await settle(() => h.queue.envelopes()[0]?.attempts === 2, "the second deferral");
  await step(h, 2_000); // the next would be at 40 s: the expiry comes first
  await settle(() => h.attempts.length === 3, "the last try at the expiry");
  await advanceUntil(h, () => h.reports.length === 1, "the expiry report");
  assertEquals(h.attempts.map((a) => a.at - arrived), [0, 10_000, 12_000]);
  const text = (await parseMail(h.reports[0]!.raw)).text ?? "";
  assertStringIncludes(text, "Action: failed");
  assertStringIncludes(text, "Envelope expired after 12 seconds in the queue");
  // The report is written later than the try; it dates the try.
  assertTrue(h.clock.now() > arrived + 12_000);
  assertStringIncludes(text, `Last-Attempt-Date: ${rfc5322Date(arrived + 12_000)}`);
  await settle(() => h.queue.stats().messages === 0, "an empty queue");
  await h.stop();
});

Deno.test("an envelope held back by its destination's pace still expires at its ttl, with its last try's error", async () => {
  const h = await harness({ ttlSeconds: 12 });
  await h.queue.commit(message(["held@example.test"]));
  await settle(() => h.queue.envelopes()[0]?.attempts === 1, "the first deferral");
  const arrived = h.clock.now();
  await step(h, 10_000); // the retry: held for an hour, so woken again at the expiry
  await settle(() => h.attempts.length === 2, "the held retry");
  assertEquals(h.queue.envelopes()[0]?.nextTry, arrived + 12_000);
  // The listing keeps the last try's error, not the hold's.
  assertEquals(h.queue.envelopes()[0]?.lastError, "451 4.3.0 try later");
  await step(h, 2_000);
  await advanceUntil(h, () => h.reports.length === 1, "the expiry report");
  assertTrue(h.reports[0]!.at < arrived + 20_000, `reported at ${h.reports[0]!.at - arrived}`);
  const text = (await parseMail(h.reports[0]!.raw)).text ?? "";
  assertStringIncludes(text, "Status: 5.4.7");
  assertStringIncludes(text, "Envelope expired after 12 seconds in the queue");
  assertStringIncludes(text, "last error: 451 4.3.0 try later");
  await settle(() => h.queue.stats().messages === 0, "an empty queue");
  await h.stop();
});

Deno.test("the last try at the expiry delivers an envelope it reaches", async () => {
  const h = await harness({ ttlSeconds: 12 });
  await h.queue.commit(message(["late@example.test"]));
  await settle(() => h.queue.envelopes()[0]?.attempts === 1, "the first deferral");
  await step(h, 10_000);
  await settle(() => h.queue.envelopes()[0]?.attempts === 2, "the second deferral");
  await step(h, 2_000);
  await settle(() => h.queue.stats().messages === 0, "the delivery at the expiry");
  await step(h, 5_000); // past any report's batch
  assertEquals([h.attempts.length, h.reports.length], [3, 0]);
  await h.stop();
});

Deno.test("bounce warn-interval sends one delay warning per interval, headers only", async () => {
  const h = await harness({ warnIntervals: [60, 600] });
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.attempts.length === 1, "the first attempt");
  // Tries at 10 s, 40 s, 90 s, 160 s, …; warnings at 60 s and 600 s.
  for (let i = 0; i < 120; i++) await step(h, 10_000);
  await settle(() => h.reports.length === 2, "two warnings");
  for (const report of h.reports) {
    const parsed = await parseMail(report.raw);
    assertEquals(parsed.subject, "Delivery status notification: delayed");
    assertStringIncludes(parsed.text ?? "", "Action: delayed");
    assertStringIncludes(parsed.text ?? "", "Status: 4.2.2");
    assertStringIncludes(parsed.text ?? "", "Will-Retry-Until:");
    assertTrue(!report.text.includes("the body line"), "a warning carries the headers only");
  }
  const [envelope] = h.queue.envelopes();
  assertEquals([envelope?.state, envelope?.warned], ["queued", 2]);
  await h.stop();
});

Deno.test("bounce warn-interval warns when the interval has passed, between two tries", async () => {
  const h = await harness({ warnIntervals: [600, 60] });
  const arrival = h.clock.now();
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.attempts.length === 1, "the first attempt");
  // Tries at 10 s, 40 s, 90 s, 160 s, 250 s, 360 s, 490 s, 640 s: both warnings fall between.
  for (let i = 0; i < 650; i++) await step(h, 1_000);
  await settle(() => h.reports.length === 2, "two warnings");
  // Each goes out when its delay has passed (and the report's gathering second with it).
  const late = h.reports.map((r) => (r.at - arrival) / 1000);
  assertTrue(late[0]! >= 60 && late[0]! <= 62, `first warning ${late[0]} s after arrival`);
  assertTrue(late[1]! >= 600 && late[1]! <= 602, `second warning ${late[1]} s after arrival`);
  // A warning is no delivery attempt: the retry schedule is the same as without them.
  const tries = h.attempts.map((a) => (a.at - arrival) / 1000);
  const expected = [0, 10, 40, 90, 160, 250, 360, 490, 640];
  assertEquals(tries.map((t, i) => Math.abs(t - expected[i]!) <= 1), expected.map(() => true));
  assertEquals(h.attempts.map((a) => a.attempts), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  await h.stop();
});

Deno.test("bounce warn-interval sends no warning at or after the envelope's expiry", async () => {
  const h = await harness({ ttlSeconds: 100, warnIntervals: [100, 200] });
  await h.queue.commit(message(["temp@example.test"]));
  await settle(() => h.attempts.length === 1, "the first attempt");
  for (let i = 0; i < 50; i++) await step(h, 5_000);
  await settle(() => h.reports.length === 1, "the failure report");
  await step(h, 5_000);
  assertEquals(h.reports.length, 1);
  assertEquals((await parseMail(h.reports[0]!.raw)).subject?.includes("delayed"), false);
  await h.stop();
});

/**
 * What the report says when the process stops between recording an outcome and queueing
 * its report: `record` works on the first queue, a scheduler on the reopened one sends it.
 */
async function reportAfterRestart(
  message: NewMessage,
  record: (queue: Awaited<ReturnType<typeof openQueue>>, clock: ManualClock) => Promise<void>,
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock();
  const first = await openQueue(dir, { now: () => clock.now() });
  await first.commit(message);
  await record(first, clock);
  first.close(); // the report was never queued
  const queue = await openQueue(dir, { now: () => clock.now() });
  const reports: string[] = [];
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    routeReport: () => ({ action: "reports" }),
    deliver: (e, content) => {
      if (e.action === "reports") reports.push(new TextDecoder().decode(content));
      return Promise.resolve({ kind: "ok" });
    },
  });
  try {
    // The clock moves while waiting: a claim that found the file busy pauses on it.
    const deadline = Date.now() + 30_000;
    while (reports.length === 0 && Date.now() < deadline) {
      clock.advance(250);
      await new Promise((r) => setTimeout(r, 5));
    }
    await settle(() => reports.length === 1, "the report after the restart");
    return reports[0]!;
  } finally {
    await scheduler.stop();
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a relayed success report says relayed after a restart between the relay and the report", async () => {
  const relayed = message(["far@example.test"]);
  const report = await reportAfterRestart({
    ...relayed,
    envelopes: relayed.envelopes.map((e) => ({ ...e, dsnNotify: ["SUCCESS"] })),
  }, async (queue, clock) => {
    const [envelope] = queue.claimDue(clock.now(), 10);
    // Handed to a server without DSN; the process stops before the report is queued.
    await queue.markDelivered(envelope!, true, { relayed: true });
  });
  assertStringIncludes(report, "Action: relayed");
  assertEquals(report.includes("Action: delivered"), false);
});

Deno.test("a failure report survives a restart between the failure and the report", async () => {
  const report = await reportAfterRestart(message(["perm@example.test"]), async (queue, clock) => {
    const [envelope] = queue.claimDue(clock.now(), 10);
    await queue.markFailed(envelope!, "550 5.1.1 no such mailbox");
  });
  assertStringIncludes(report, "550 5.1.1 no such mailbox");
});
