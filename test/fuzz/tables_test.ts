// A short run of the table fuzzers (bench/fuzz_tables.ts is the long one): for every
// format, generated and mutated files load or are refused with table, file and line.

import { assertNoFailures } from "./_harness.ts";
import { fuzzTableFormat, openWorkspace, TABLE_FORMATS } from "./_tables_fuzz.ts";

// Fixed, so the suite is reproducible; FUZZ_SEED explores others.
const SEED = 20261201;
const CASES = 300;

for (const format of TABLE_FORMATS) {
  Deno.test(`fuzzed ${format} tables load or are refused with table, file and line`, async () => {
    await using workspace = await openWorkspace();
    assertNoFailures(await fuzzTableFormat(format, workspace, { seed: SEED, cases: CASES }));
  });
}
