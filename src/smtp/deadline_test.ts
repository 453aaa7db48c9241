// The session deadline: it fires once its time passes since the last restart, a shorter
// allowance takes effect at once, and a stopped deadline never fires.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { Deadline } from "./deadline.ts";

function expiry(deadline: (fired: () => void) => Deadline): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => deadline(() => resolve(Date.now() - started)));
}

Deno.test("Deadline fires the allowance after the last restart, not after the first", async () => {
  let restarts = 0;
  const elapsed = await expiry((fired) => {
    const d = new Deadline(fired);
    d.set(200);
    // Restarted for 300 ms: it cannot fire before 300 + 200 ms.
    const timer = setInterval(() => {
      if (++restarts === 6) clearInterval(timer);
      d.restart();
    }, 50);
    return d;
  });
  assertTrue(elapsed >= 480, `fired after ${elapsed} ms`);
});

Deno.test("Deadline takes a shorter allowance at once", async () => {
  const elapsed = await expiry((fired) => {
    const d = new Deadline(fired);
    d.set(60_000);
    d.set(50);
    return d;
  });
  assertTrue(elapsed < 30_000, `fired after ${elapsed} ms`);
});

Deno.test("Deadline counts a longer allowance from when it is set", async () => {
  const elapsed = await expiry((fired) => {
    const d = new Deadline(fired);
    d.set(40);
    d.set(250);
    return d;
  });
  assertTrue(elapsed >= 240, `fired after ${elapsed} ms`);
});

Deno.test("Deadline never fires once stopped", async () => {
  let fired = 0;
  const d = new Deadline(() => fired++);
  d.set(20);
  d.stop();
  d.restart();
  await new Promise((r) => setTimeout(r, 80));
  assertEquals(fired, 0);
});
