// DestinationPace on a clock the test moves: N per window, held-back mail spread over
// slots of its own, a slot kept for the mail it was given to, and "too fast" slow-downs.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { DestinationPace, SLOW_DOWN_MS, TOO_FAST_REGEXP } from "./pace.ts";

const MINUTE = 60_000;

Deno.test("DestinationPace lets N mails a window go, then holds the rest on spread slots", () => {
  let now = 1_000_000;
  const pace = new DestinationPace(() => now);
  const rate = { count: 5, seconds: 60 };
  const first = [1, 2, 3, 4, 5].map((i) => pace.admit("mail", "a.test", rate, `m${i}`));
  assertEquals(first.every((a) => a.go), true);
  const held = [6, 7, 8, 9, 10].map((i) => pace.admit("mail", "a.test", rate, `m${i}`));
  const slots = held.map((a) => (a.go ? 0 : a.at));
  // A window after the first five, each slot a fifth of the window after the one before.
  assertEquals(slots, [0, 1, 2, 3, 4].map((i) => now + MINUTE + i * 12_000));
  // Another destination is not held by this one's pace.
  assertEquals(pace.admit("mail", "b.test", rate, "x").go, true);
  // Back early: still held, to the same slot; on time: it goes, and the slot is not given twice.
  now = slots[0]! - 1;
  assertEquals(pace.admit("mail", "a.test", rate, "m6"), { go: false, at: slots[0]! });
  now = slots[0]!;
  assertEquals(pace.admit("mail", "a.test", rate, "m6").go, true);
  const late = pace.admit("mail", "a.test", rate, "m11");
  assertTrue(!late.go && late.at >= slots[4]! + 12_000, "a newcomer goes after those held");
});

Deno.test("DestinationPace keeps any window of the rate at N or fewer, whatever the arrivals", () => {
  let now = 0;
  const pace = new DestinationPace(() => now);
  const rate = { count: 3, seconds: 10 };
  const sent: number[] = [];
  const due = new Map<string, number>();
  for (let step = 0; step < 600; step++) {
    now = step * 250;
    // Two new mails every second, and whatever held-back mail is due.
    const asking = [...due].filter(([, at]) => at <= now).map(([t]) => t);
    if (step % 2 === 0) asking.push(`new${step}`);
    for (const ticket of asking) {
      const answer = pace.admit("mail", "a.test", rate, ticket);
      if (answer.go) {
        sent.push(now);
        due.delete(ticket);
      } else due.set(ticket, answer.at);
    }
  }
  for (const at of sent) {
    assertTrue(sent.filter((t) => t >= at && t < at + 10_000).length <= 3, `window at ${at}`);
  }
  assertTrue(sent.length >= 3 * 14, `${sent.length} sent in 150 s`);
});

Deno.test("DestinationPace halves a destination's pace after a too-fast reply, for a while", () => {
  let now = 0;
  const pace = new DestinationPace(() => now);
  const rate = { count: 8, seconds: 60 };
  assertEquals(pace.slowDown("a.test", rate), { count: 4, seconds: 60 });
  assertEquals(pace.slowDown("a.test", rate), { count: 2, seconds: 60 });
  assertEquals(pace.mailRate("b.test", rate), rate);
  now = SLOW_DOWN_MS;
  assertEquals(pace.mailRate("a.test", rate), rate);
  // Without a rate of its own: half of what went in the last minute.
  for (let i = 0; i < 10; i++) pace.admit("mail", "c.test", undefined, `c${i}`);
  assertEquals(pace.slowDown("c.test", undefined), { count: 5, seconds: 60 });
  assertEquals(pace.mailRate("c.test", undefined), { count: 5, seconds: 60 });
});

Deno.test("TOO_FAST_REGEXP knows the large receivers' deferrals and leaves other replies", () => {
  for (
    const reply of [
      "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume",
      "451 4.7.500 Server busy. Please try again later from [192.0.2.1]",
      "421 4.7.28 Our system has detected an unusual rate of unsolicited mail",
      "451 4.7.1 Too many messages, slow down",
    ]
  ) assertTrue(TOO_FAST_REGEXP.test(reply), reply);
  for (
    const reply of ["452 4.2.2 mailbox full", "450 4.1.1 user unknown here", "550 5.7.1 rate"]
  ) assertTrue(!TOO_FAST_REGEXP.test(reply), reply);
});
