// The short run of the SMTP session fuzzer: a few thousand commands in seeded sessions
// against the daemon as a child process. The long run is bench/fuzz_smtp.ts.

import { assertEquals } from "../assert.ts";
import { assertNoFailures } from "./_harness.ts";
import { runSmtpFuzz } from "./_smtp_fuzz.ts";

Deno.test("fuzzed SMTP sessions: the daemon lives, replies are well formed, every 250 is delivered once", async () => {
  const { report, stats, deliveryProblems } = await runSmtpFuzz({
    cases: 1000,
    seed: 20261201,
    concurrency: 8,
    memoryBoundMb: 300,
    settleEvery: 500,
  });
  console.log(
    `seed ${report.seed}: ${stats.sessions} sessions, ${stats.commands} commands, ` +
      `${stats.accepted} accepted, ${stats.delivered} delivered, peak RSS ${
        stats.peakRssMb.toFixed(0)
      } MB, ` +
      `slowest case ${report.slowestIndex} (${report.slowestMs.toFixed(0)} ms)`,
  );
  assertNoFailures(report);
  assertEquals(deliveryProblems, []);
});
