// Short seeded run of the configuration fuzzer: generated and mutated smtpd.conf text never
// makes the parser throw, and whatever it accepts prints back to the same model. The long
// run is bench/fuzz_config.ts; FUZZ_SEED and FUZZ_CASE replay a failure.

import { assertNoFailures, fuzz } from "./_harness.ts";
import { checkConfigCase, configCase, exampleTexts } from "./_config_cases.ts";

Deno.test("fuzz: the configuration parser never throws and prints what it accepts stably", async () => {
  const examples = exampleTexts();
  const report = await fuzz("config parser", { seed: 20261201, cases: 3000 }, (random) => {
    checkConfigCase(configCase(random, examples));
  });
  assertNoFailures(report);
});
