// SIGKILL rounds at scale: `deno run -A bench/sigkill.ts [ROUNDS] [SESSIONS]` kills the
// daemon at random moments under load, then prints what got a 250 and what arrived.

import { runKillRounds } from "./_sigkill_rounds.ts";

const rounds = Number(Deno.args[0] ?? 50);
const sessions = Number(Deno.args[1] ?? 8);
const started = performance.now();
const result = await runKillRounds({ rounds, sessions, seed: Date.now() & 0xffff });
console.log(
  JSON.stringify({ ...result, seconds: Math.round((performance.now() - started) / 100) / 10 }),
);
Deno.exit(result.lost === 0 && result.integrity === "ok" ? 0 : 1);
