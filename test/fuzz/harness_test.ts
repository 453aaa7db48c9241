import assert from "node:assert/strict";
import { assertNoFailures, caseSeed, fuzz, Random } from "./_harness.ts";

Deno.test("Random gives the same sequence for the same seed and another for another", () => {
  const a = new Random(42), b = new Random(42), c = new Random(43);
  const seq = (r: Random) => Array.from({ length: 8 }, () => r.int(1000));
  const first = seq(a);
  assert.deepEqual(first, seq(b));
  assert.notDeepEqual(first, seq(c));
});

Deno.test("fuzz() reports the seed and case of a failure so it can be replayed", async () => {
  const report = await fuzz("demo", { seed: 7, cases: 50 }, (random, index) => {
    if (index === 13) throw new Error(`bad ${random.int(10)}`);
  });
  assert.equal(report.failures.length, 1);
  assert.equal(report.failures[0]!.index, 13);
  assert.throws(() => assertNoFailures(report), /FUZZ_SEED=7 FUZZ_CASE=13/);
  const replayed = new Random(caseSeed(7, 13)).int(10);
  assert.match(report.failures[0]!.error, new RegExp(`bad ${replayed}`));
});
