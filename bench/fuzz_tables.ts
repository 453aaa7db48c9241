// The long run of the table fuzzers: every table format, CASES cases each, from SEED.
// Prints, per format, the cases run, the seed, the failures (crashes and hangs, each with
// its replay command) and the slowest case.
//
//   deno run -A bench/fuzz_tables.ts [CASES] [SEED] [FORMAT…]
//   (default 100000 cases, a seed from the clock, every format)

import {
  fuzzTableFormat,
  HANG_MS,
  openWorkspace,
  TABLE_FORMATS,
} from "../test/fuzz/_tables_fuzz.ts";
import type { TableFormat } from "../test/fuzz/_tables_fuzz.ts";

const [casesArg, seedArg, ...formatArgs] = Deno.args;
const cases = Number(casesArg ?? 100_000);
const seed = Number(seedArg ?? Date.now() % 2 ** 31);
const formats = formatArgs.length ? formatArgs : [...TABLE_FORMATS];
for (const format of formats) {
  if (!(TABLE_FORMATS as readonly string[]).includes(format)) {
    console.error(`fuzz_tables: unknown format "${format}" (known: ${TABLE_FORMATS.join(", ")})`);
    Deno.exit(64);
  }
}
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
  console.error("usage: fuzz_tables.ts [CASES] [SEED] [FORMAT…]");
  Deno.exit(64);
}

console.log(`fuzz_tables: ${cases} cases per format, seed ${seed}, hang bound ${HANG_MS} ms`);
console.log("format        cases  failures  hangs  slowest (case)      time");
let failed = 0;
await using workspace = await openWorkspace();
for (const format of formats as TableFormat[]) {
  const started = performance.now();
  const report = await fuzzTableFormat(format, workspace, { seed, cases, maxFailures: 20 });
  const seconds = (performance.now() - started) / 1000;
  const hangs = report.failures.filter((f) => f.error.includes("hang:")).length;
  failed += report.failures.length;
  console.log(
    `${format.padEnd(12)} ${String(report.cases).padStart(6)}  ${
      String(report.failures.length - hangs).padStart(8)
    }  ${String(hangs).padStart(5)}  ${report.slowestMs.toFixed(1).padStart(7)} ms (${
      String(report.slowestIndex).padStart(6)
    })  ${seconds.toFixed(1).padStart(6)} s`,
  );
  for (const failure of report.failures) {
    console.log(`  replay: FUZZ_SEED=${report.seed} FUZZ_CASE=${failure.index} (${format})`);
    console.log(`    ${failure.error.split("\n").slice(0, 3).join("\n    ")}`);
  }
}
if (failed > 0) Deno.exit(1);
