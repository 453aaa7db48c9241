// Long run of the sendmail fuzzer (the suite runs a short one). Each case is a sendmail
// child process writing a real queue, read back and compared byte for byte:
//   deno run -A bench/fuzz_sendmail.ts [CASES=2000] [SEED=random] [--in-process]
// --in-process runs the cases through the same code without processes (much faster).
// Prints cases, seed, failures (crashes: the property broke; hangs: a process killed after
// 60 s) and the slowest case, with the command that replays it.

import { fuzz } from "../test/fuzz/_harness.ts";
import { checkCaseInProcess, sendmailCase } from "../test/fuzz/_sendmail_cases.ts";
import { checkCaseAsProcess, sendmailScratch } from "../test/fuzz/_sendmail_process.ts";

const HANG_MS = 60_000;
const positional = Deno.args.filter((a) => !a.startsWith("--"));
const inProcess = Deno.args.includes("--in-process");
const cases = Number(positional[0] ?? 2000);
const seed = Number(positional[1] ?? Math.floor(Math.random() * 2 ** 31));
const scratch = await sendmailScratch();
let hangs = 0;
const started = performance.now();
const target = inProcess ? "sendmail (in-process)" : "sendmail (process)";
const report = await fuzz(target, { seed, cases, maxFailures: 20 }, async (random) => {
  const c = sendmailCase(random);
  if (inProcess) return await checkCaseInProcess(c);
  const t0 = performance.now();
  try {
    await checkCaseAsProcess(scratch, c, HANG_MS);
  } finally {
    if (performance.now() - t0 >= HANG_MS) hangs++;
  }
});
await Deno.remove(scratch.dir, { recursive: true });
const seconds = (performance.now() - started) / 1000;
console.log(`target: ${report.target}`);
console.log(`cases: ${report.cases} in ${seconds.toFixed(1)} s`);
console.log(`seed: ${report.seed}`);
console.log(`failures: ${report.failures.length}`);
console.log(`hangs (over ${HANG_MS / 1000} s): ${hangs}`);
console.log(
  `slowest case: ${report.slowestIndex} (${report.slowestMs.toFixed(1)} ms; replay with ` +
    `FUZZ_SEED=${report.seed} FUZZ_CASE=${report.slowestIndex})`,
);
for (const f of report.failures) {
  console.log(`\nFUZZ_SEED=${report.seed} FUZZ_CASE=${f.index}:\n${f.error}`);
}
Deno.exit(report.failures.length === 0 && hangs === 0 ? 0 : 1);
