// Relay throughput: messages per second from a queue to a receiving sink on loopback, for
// this daemon beside Postfix and OpenSMTPD relaying the same messages to the same sink in
// the same run. Each server's queue is filled first with delivery held (smtpctl pause mta;
// Postfix's defer_transports; OpenSMTPD's smtpctl pause mta), then released, and the clock
// runs from the release until Postfix's smtp-sink has counted every message.
//
//   sudo bench/relay_throughput.sh [--messages 2000] [--reps 3] [--servers project,postfix,opensmtpd]
//
// One destination: every message to d0.test, relayed to 127.0.0.1. Twenty destinations:
// d0…d19.test, each relayed to its own loopback address 127.0.0.(k+1), so every server
// sees twenty next hops. Runs as root inside a private network namespace (the .sh wrapper).

import { parseArgs } from "node:util";
import {
  IN_PORT,
  listening,
  MAKERS,
  PF,
  PF_ENV,
  run,
  SINK_PORT,
  waitFor,
} from "./_relay_servers.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "2000" },
    reps: { type: "string", default: "3" },
    servers: { type: "string", default: "project,postfix,opensmtpd" },
    size: { type: "string", default: "1024" },
  },
});
const MESSAGES = Number(values.messages);
const REPS = Number(values.reps);
const SIZE = Number(values.size);
const SERVERS = values.servers!.split(",");
const decoder = new TextDecoder();

// ---- the sink: Postfix's smtp-sink, counting messages on its stdout ----
let sinkCount = 0;
/** When the count first moved past `mark`, and when it reached `goal` (performance.now()). */
const watch = { mark: Infinity, goal: Infinity, first: 0, half: 0, last: 0 };
const sink = new Deno.Command(`${PF}/usr/sbin/smtp-sink`, {
  args: ["-u", "nobody", "-c", `0.0.0.0:${SINK_PORT}`, "1024"],
  env: PF_ENV,
  stdout: "piped",
  stderr: "inherit",
}).spawn();
(async () => {
  for await (const chunk of sink.stdout) {
    const found = [...decoder.decode(chunk).matchAll(/mesg=(\d+)/g)];
    if (found.length === 0) continue;
    sinkCount = Number(found.at(-1)![1]);
    const now = performance.now();
    if (sinkCount > watch.mark && watch.first === 0) watch.first = now;
    if (sinkCount >= (watch.mark + watch.goal) / 2 && watch.half === 0) watch.half = now;
    if (sinkCount >= watch.goal && watch.last === 0) watch.last = now;
  }
})();

/** Fills a server's queue: smtp-source, 20 sessions, 1 KB, one recipient each. */
async function inject(destinations: number) {
  const per = Math.ceil(MESSAGES / destinations);
  await Promise.all(
    Array.from({ length: destinations }, (_, k) =>
      run(`${PF}/usr/sbin/smtp-source`, [
        "-s",
        String(Math.max(1, Math.floor(20 / destinations))),
        "-m",
        String(per),
        "-l",
        String(SIZE),
        "-f",
        "sender@bench.test",
        "-t",
        `rcpt@d${k}.test`,
        "-M",
        "bench.test",
        `127.0.0.1:${IN_PORT}`,
      ], PF_ENV)),
  );
  return per * destinations;
}

interface Result {
  server: string;
  destinations: number;
  rep: number;
  messages: number;
  seconds: number;
  drain: number;
}
const results: Result[] = [];

await waitFor("the sink", () => listening(SINK_PORT), 30_000);
for (let rep = 1; rep <= REPS; rep++) {
  for (const destinations of [1, 20]) {
    for (const name of SERVERS) {
      const server = MAKERS[name]!();
      const dir = await Deno.makeTempDir({ prefix: `relaybench-${name}-` });
      await Deno.chmod(dir, 0o755);
      try {
        await server.start(dir, destinations);
        await server.hold();
        const atStart = sinkCount;
        const sent = await inject(destinations);
        // Nothing may have left while held.
        const before = sinkCount;
        if (before !== atStart) throw new Error(`${before - atStart} messages left while held`);
        Object.assign(watch, { mark: before, goal: before + sent, first: 0, half: 0, last: 0 });
        const started = performance.now();
        await server.release();
        await waitFor(`${sent} messages at the sink`, () => watch.last > 0);
        const seconds = (watch.last - started) / 1000;
        const drain = (watch.last - watch.first) / 1000;
        results.push({ server: server.label, destinations, rep, messages: sent, seconds, drain });
        console.log(
          `rep ${rep} ${server.label} ${destinations} dest: ${sent} msgs; release→last ${
            seconds.toFixed(2)
          } s = ${(sent / seconds).toFixed(0)} msg/s; first→last ${drain.toFixed(2)} s = ${
            ((sent - 1) / drain).toFixed(0)
          } msg/s; half in ${((watch.half - started) / 1000).toFixed(2)} s; load ${
            Deno.loadavg()[0]!.toFixed(1)
          }`,
        );
      } catch (error) {
        console.error(`${name}: ${error instanceof Error ? error.message : error} (kept ${dir})`);
        await server.stop().catch(() => {});
        throw error;
      }
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}
sink.kill("SIGTERM");

const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${median.toFixed(0)} [${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)}]`;
};
console.log(
  `\n${MESSAGES} messages of ${SIZE} bytes, ${REPS} repetitions; median [min–max] msg/s`,
);
console.log("\n| server | destinations | n | release → last arrival | first → last arrival |");
console.log("| --- | --- | --- | --- | --- |");
for (const destinations of [1, 20]) {
  for (const name of new Set(results.map((r) => r.server))) {
    const mine = results.filter((r) => r.server === name && r.destinations === destinations);
    if (mine.length === 0) continue;
    console.log(
      `| ${name} | ${destinations} | ${mine.length} | ${
        spread(mine.map((r) => r.messages / r.seconds))
      } | ${spread(mine.map((r) => (r.messages - 1) / r.drain))} |`,
    );
  }
}
Deno.exit(0);
