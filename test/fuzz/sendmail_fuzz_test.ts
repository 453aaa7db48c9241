// Short seeded runs of the sendmail fuzzer: random bytes, headers, line ends, dots and
// flags are queued as given plus the headers sendmail adds, or refused with exit 64. Most
// cases run in-process through the code sendmail queues with; a few as child processes
// against a real queue. The long run is bench/fuzz_sendmail.ts.

import { assertNoFailures, fuzz } from "./_harness.ts";
import { checkCaseInProcess, sendmailCase } from "./_sendmail_cases.ts";
import { checkCaseAsProcess, sendmailScratch } from "./_sendmail_process.ts";

Deno.test("fuzz: sendmail queues what it was given byte for byte, or exits 64 saying why", async () => {
  const report = await fuzz("sendmail (in-process)", { seed: 20261201, cases: 3000 }, (random) => {
    return checkCaseInProcess(sendmailCase(random));
  });
  assertNoFailures(report);
});

Deno.test("fuzz: sendmail as a child process, read back from the queue", async () => {
  const scratch = await sendmailScratch();
  const report = await fuzz("sendmail (process)", { seed: 20261201, cases: 40 }, (random) => {
    return checkCaseAsProcess(scratch, sendmailCase(random));
  });
  await Deno.remove(scratch.dir, { recursive: true });
  assertNoFailures(report);
});
