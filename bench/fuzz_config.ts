// Long run of the configuration fuzzer (the suite runs a short one):
//   deno run --allow-read bench/fuzz_config.ts [CASES=100000] [SEED=random]
// Prints cases, seed, failures (crashes: the property broke; hangs: a case over 1 s) and
// the slowest case, with the command that replays it.

import { fuzz } from "../test/fuzz/_harness.ts";
import { checkConfigCase, configCase, exampleTexts } from "../test/fuzz/_config_cases.ts";

const HANG_MS = 1000;
const cases = Number(Deno.args[0] ?? 100_000);
const seed = Number(Deno.args[1] ?? Math.floor(Math.random() * 2 ** 31));
const examples = exampleTexts();
let hangs = 0;
const started = performance.now();
const report = await fuzz("config parser", { seed, cases, maxFailures: 20 }, (random) => {
  const t0 = performance.now();
  checkConfigCase(configCase(random, examples));
  if (performance.now() - t0 > HANG_MS) hangs++;
});
const seconds = (performance.now() - started) / 1000;
console.log(`target: ${report.target}`);
console.log(`cases: ${report.cases} in ${seconds.toFixed(1)} s`);
console.log(`seed: ${report.seed}`);
console.log(`failures: ${report.failures.length}`);
console.log(`hangs (over ${HANG_MS} ms): ${hangs}`);
console.log(
  `slowest case: ${report.slowestIndex} (${report.slowestMs.toFixed(1)} ms; replay with ` +
    `FUZZ_SEED=${report.seed} FUZZ_CASE=${report.slowestIndex})`,
);
for (const f of report.failures) {
  console.log(`\nFUZZ_SEED=${report.seed} FUZZ_CASE=${f.index}:\n${f.error}`);
}
Deno.exit(report.failures.length === 0 && hangs === 0 ? 0 : 1);
