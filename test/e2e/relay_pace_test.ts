// `mta rate` end to end on a clock the test moves: the real scheduler and queue file, the
// real relay client, and a receiving server of the test's own that stamps each arrival
// with the same clock, so arrivals per minute are counted exactly, without waiting.

import { ManualClock, openQueue, startScheduler } from "../../src/queue/mod.ts";
import { ConnectionPool, DestinationPace, relayEnvelope } from "../../src/relay/mod.ts";
import { type MtaLimitSet, parseRelayTarget } from "../../src/config/mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { type Arrival, startCountingSink } from "../_counting_sink.ts";

const MINUTE = 60_000;

/** The most arrivals in any window of `ms` starting at an arrival. */
function busiestWindow(arrivals: readonly Arrival[], ms: number, from = -Infinity): number {
  return busiest(arrivals.map((a) => a.at), ms, from);
}

function busiest(all: readonly number[], ms: number, from = -Infinity): number {
  const times = all.filter((t) => t >= from);
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));
}

async function pacedRelay(
  limits: MtaLimitSet,
  sinkOptions: Parameters<typeof startCountingSink>[0] = {},
) {
  const clock = new ManualClock();
  const sink = startCountingSink({ ...sinkOptions, now: () => clock.now() });
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir, { now: () => clock.now() });
  const host = parseRelayTarget(`smtp://127.0.0.1:${sink.port}`);
  if (typeof host === "string") throw new Error(host);
  const action = { host };
  const context = {
    hostname: "mx.sender.test",
    pool: new ConnectionPool({ idleMs: 0 }),
    pace: new DestinationPace(() => clock.now()),
    config: { pkis: [], cas: [], mtaLimits: limits },
    timeoutMs: 60_000,
  };
  const scheduler = startScheduler({
    queue,
    clock,
    log: SILENT_LOGGER,
    agentOf: () => "mta",
    deliver: (e, content) =>
      relayEnvelope(action, { sender: e.sender, rcpt: e.rcpt, content, msgid: e.msgid }, context),
  });
  const settle = async () => {
    for (let i = 0; i < 6000 && scheduler.inFlight > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(scheduler.inFlight, 0, "deliveries settle");
  };
  return {
    clock,
    sink,
    queue,
    async submit(count: number) {
      for (let i = 0; i < count; i++) {
        await queue.commit({
          sender: "a@sender.test",
          helo: "sender.test",
          src: "127.0.0.1",
          content: new TextEncoder().encode(`Subject: ${i}\r\n\r\nbody ${i}\r\n`),
          envelopes: [{ rcpt: `r${i}@far.test`, action: "out" }],
        });
      }
      await settle();
    },
    /** Moves the clock a second at a time, letting each second's deliveries finish. */
    async run(ms: number) {
      for (let t = 0; t < ms; t += 1000) {
        clock.advance(1000);
        await settle();
      }
    },
    async stop() {
      await scheduler.stop();
      await context.pool.close();
      queue.close();
      await sink.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("mta rate: 10 mails a minute to a destination, the rest held on spread slots", async () => {
  const h = await pacedRelay({
    default: {},
    domains: new Map([["127.0.0.1", { mailRate: { count: 10, seconds: 60 } }]]),
  });
  try {
    await h.submit(35);
    assertEquals(h.sink.arrivals.length, 10, "ten go at once");
    // The others wait in the queue, untried, each on a slot of its own.
    const held = h.queue.envelopes();
    assertEquals(held.length, 25);
    assertEquals(held.every((e) => e.attempts === 0), true);
    assertEquals(new Set(held.map((e) => e.nextTry)).size, 25, "no two on the same moment");
    await h.run(4 * MINUTE);
    assertEquals(h.sink.arrivals.length, 35);
    assertTrue(busiestWindow(h.sink.arrivals, MINUTE) <= 10, "at most ten in any minute");
    // After the first burst, one every six seconds: no two held mails arrive together.
    const later = h.sink.arrivals.slice(10).map((a) => a.at);
    assertEquals(new Set(later).size, later.length);
  } finally {
    await h.stop();
  }
});

Deno.test("mta rate: a 421 'too fast' from the receiver halves the pace for a while", async () => {
  const h = await pacedRelay({
    default: { mailRate: { count: 8, seconds: 60 } },
    domains: new Map(),
  }, { mailReply: (n) => (n === 3 ? "421 4.7.0 Too many messages, slow down" : undefined) });
  try {
    await h.submit(40);
    // Those let go before the reply came arrive (one of them was refused)…
    const first = h.sink.arrivals.length;
    assertTrue(first >= 1 && first <= 7, `${first} in the first burst`);
    const slowedAt = h.clock.now();
    // …and then four a minute: the slots promised at eight were taken back.
    await h.run(6 * MINUTE);
    assertTrue(busiestWindow(h.sink.arrivals, MINUTE, slowedAt + 1) <= 4, "four a minute");
    const slow = h.sink.arrivals.filter((a) => a.at > slowedAt).length;
    assertTrue(slow >= 16 && slow <= 24, `${slow} arrived in six slowed minutes`);
    await h.run(5 * MINUTE);
    assertEquals(h.sink.arrivals.length, 40, "the backlog is through");
    // Eleven minutes on, the slow spell is over: eight new mails go at once.
    await h.submit(8);
    assertEquals(h.sink.arrivals.length, 48);
    assertTrue(busiestWindow(h.sink.arrivals, MINUTE, slowedAt + 1) <= 8, "never above eight");
  } finally {
    await h.stop();
  }
});

Deno.test("mta rate: 2 connections a minute, the mail that finds no session held for the next", async () => {
  const h = await pacedRelay({
    default: { connRate: { count: 2, seconds: 60 } },
    domains: new Map(),
  });
  try {
    await h.submit(12);
    assertEquals(h.sink.connections, 2, "two sessions at once");
    const held = h.queue.envelopes();
    assertTrue(held.length >= 1 && held.every((e) => e.attempts === 0), "held, not tried");
    await h.run(8 * MINUTE);
    assertEquals(h.sink.arrivals.length, 12);
    assertTrue(busiest(h.sink.connectedAt, MINUTE) <= 2, "at most two connections a minute");
  } finally {
    await h.stop();
  }
});
