// Durability under fire: the daemon is killed with SIGKILL at random moments while
// sessions are sending and deliveries are running, restarted, killed again, many times.
// Every message that got a 250 must end up delivered; the queue file must stay sound.
// `bench/sigkill.ts` runs the same with more rounds and prints the counts.

import { assertEquals } from "../assert.ts";
import { runKillRounds } from "../../bench/_sigkill_rounds.ts";

Deno.test("SIGKILL at random moments under load loses no message that got a 250", async () => {
  const result = await runKillRounds({ rounds: 6, sessions: 4, seed: 20261125 });
  console.log(
    `sigkill: ${result.rounds} kills, ${result.acknowledged} acknowledged, ` +
      `${result.lost} lost, ${result.duplicates} duplicated, ` +
      `${result.unacknowledgedDelivered} unacknowledged but delivered, integrity ${result.integrity}`,
  );
  assertEquals(result.lost, 0, "every message that got a 250 is delivered");
  assertEquals(result.integrity, "ok");
  assertEquals(result.acknowledged > 0, true);
});
