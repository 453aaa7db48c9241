// The long run of the SMTP session fuzzer: CASES seeded sessions from SEED against the
// daemon as a child process. Prints the cases, the seed, crashes, hangs and other failures
// (each with its replay command), the slowest case and the daemon's peak memory.
//
//   deno run -A bench/fuzz_smtp.ts [CASES] [SEED] [CONCURRENCY]
//   (default 100000 sessions, a seed from the clock, 16 sessions at once; FUZZ_FROM=N in
//   the environment starts at case N, to rerun a range of a long run)

import { runSmtpFuzz } from "../test/fuzz/_smtp_fuzz.ts";

const [casesArg, seedArg, concurrencyArg] = Deno.args;
const cases = Number(casesArg ?? 100_000);
const seed = Number(seedArg ?? Date.now() % 2 ** 31);
const concurrency = Number(concurrencyArg ?? 16);
if (![cases, seed, concurrency].every(Number.isInteger) || cases < 1 || concurrency < 1) {
  console.error("usage: fuzz_smtp.ts [CASES] [SEED] [CONCURRENCY]");
  Deno.exit(64);
}
// Far above what the daemon settles at (about 190 MB): growth past it is a leak.
const MEMORY_BOUND_MB = 400;

console.log(`fuzz_smtp: ${cases} sessions, seed ${seed}, ${concurrency} at once`);
const started = performance.now();
const { report, stats, deliveryProblems } = await runSmtpFuzz({
  cases,
  seed,
  concurrency,
  memoryBoundMb: MEMORY_BOUND_MB,
  settleEvery: 2000,
  maxFailures: 50,
  onProgress: (s) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    console.log(
      `  ${s.sessions} sessions, ${s.commands} commands, peak RSS ${
        s.peakRssMb.toFixed(0)
      } MB, ${seconds} s`,
    );
  },
});
const seconds = (performance.now() - started) / 1000;
const others = report.failures.length - stats.hangs -
  report.failures.filter((f) => f.error.includes("crash:")).length;
console.log(`cases      ${report.cases}`);
console.log(`seed       ${report.seed}`);
console.log(`commands   ${stats.commands}`);
console.log(`accepted   ${stats.accepted} messages (250), ${stats.delivered} Maildir files`);
console.log(`crashes    ${stats.crashes}`);
console.log(`hangs      ${stats.hangs}`);
console.log(`failures   ${others} other (malformed replies, memory, delivery)`);
console.log(`delivery   ${deliveryProblems.length} problems at the end`);
console.log(`slowest    case ${report.slowestIndex}, ${report.slowestMs.toFixed(0)} ms`);
console.log(`memory     peak RSS ${stats.peakRssMb.toFixed(0)} MB (bound ${MEMORY_BOUND_MB} MB)`);
console.log(
  `time       ${seconds.toFixed(0)} s (${(stats.sessions / seconds).toFixed(0)} sessions/s)`,
);
for (const failure of report.failures) {
  console.log(`  replay: FUZZ_SEED=${report.seed} FUZZ_CASE=${failure.index}`);
  console.log(`    ${failure.error.split("\n").slice(0, 3).join("\n    ")}`);
}
for (const problem of deliveryProblems.slice(0, 20)) console.log(`  ${problem}`);
if (report.failures.length > 0 || deliveryProblems.length > 0) Deno.exit(1);
