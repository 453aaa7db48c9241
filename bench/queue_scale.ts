// A queue at scale: N deferred envelopes (a big receiver down for a day) in the queue file,
// then the daemon's start-up time (its first start on the queue, and a restart), `mailq`'s
// first line, the scheduler's per-tick queries, the daemon's memory, the rate of fresh
// mail beside the backlog, and one message to 20,000 recipients accepted and fanned out.
// Each figure is measured beside the same step on an empty queue, in the same run.
//
//   deno run -A bench/queue_scale.ts [--envelopes 100000] [--fresh 2000] [--sessions 20]
//                                    [--list 20000]
//
// As root the daemon runs as production does: privilege-separated, the front as _smtpd,
// mail written as the user `benchmail` (made by ../shared/bench/setup.sh).

import { parseArgs } from "node:util";
import { openQueue } from "../src/queue/mod.ts";
import { fanOut, freePort, memoryOf, sendLoad, startDaemon, stopDaemon } from "./_scale_tools.ts";

const { values } = parseArgs({
  options: {
    envelopes: { type: "string", default: "100000" },
    fresh: { type: "string", default: "2000" },
    sessions: { type: "string", default: "20" },
    list: { type: "string", default: "20000" },
  },
});
const ENVELOPES = Number(values.envelopes);
const FRESH = Number(values.fresh);
const SESSIONS = Number(values.sessions);
const LIST = Number(values.list);
const root = new URL("..", import.meta.url).pathname;
const asRoot = Deno.uid() === 0;
const mailUser = asRoot ? await idsOf("benchmail") : `${Deno.uid()}:${Deno.gid()}`;
if (!mailUser) throw new Error("as root, the user benchmail is needed (../shared/bench/setup.sh)");

/** One daemon's directory and configuration. */
async function prepare(label: string): Promise<{ dir: string; conf: string; port: number }> {
  const dir = await Deno.makeTempDir({ prefix: `smtpd-scale-${label}-` });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/mail`);
  if (asRoot) await Deno.chown(`${dir}/mail`, ...ids(mailUser!));
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `queue path "${dir}/queue"`,
      `smtp limit max-rcpt ${Math.max(LIST, 1000)}`,
      `listen on 127.0.0.1 port ${port}`,
      `table vusers { "@bench.test" = "vmail" }`,
      `table vbase { vmail = "${mailUser}:/nonexistent" }`,
      `action "bench" maildir "${dir}/mail/%{rcpt.user:lowercase}" virtual <vusers> userbase <vbase>`,
      // The receiver that is down: nothing listens on port 9 of the loopback.
      `action "down" relay host "smtp://127.0.0.1:9"`,
      `match from any for domain "bench.test" action "bench"`,
      `match from any for domain "down.test" action "down"`,
    ].join("\n") + "\n",
  );
  return { dir, conf, port };
}

// The backlog, written through the queue's own commit (the rows a daemon writes), then
// made deferred: tried 3 times, next try in an hour.
async function fillBacklog(dir: string, count: number): Promise<number> {
  const started = performance.now();
  const queue = await openQueue(`${dir}/queue`);
  const content = new TextEncoder().encode(
    `Subject: backlog\r\nFrom: <list@client.test>\r\n\r\n${"x".repeat(900)}\r\n`,
  );
  for (let first = 0; first < count; first += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, count - first) }, (_, n) =>
        queue.commit({
          sender: "list@client.test",
          helo: "client.test",
          src: "127.0.0.1",
          content,
          envelopes: [{ rcpt: `r${first + n}@down.test`, action: "down" }],
        })),
    );
  }
  queue.close();
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dir}/queue/queue.sqlite`);
  const now = Date.now();
  db.prepare(
    "UPDATE envelopes SET next_try = ?, attempts = 3, last_try = ?, last_error = '421 4.4.2 receiver down', lease_owner = NULL, lease_until = 0",
  ).run(now + 3_600_000, now - 60_000);
  db.close();
  return (performance.now() - started) / 1000;
}

// The scheduler's queries on each tick, timed in this process on the file: due
// envelopes (none are due) and the next due time.
async function tickCost(dir: string): Promise<{ claimDueUs: number; nextTryUs: number }> {
  const queue = await openQueue(`${dir}/queue`);
  const rounds = 2000;
  let started = performance.now();
  for (let n = 0; n < rounds; n++) queue.claimDue(Date.now(), 100);
  const claimDueUs = (performance.now() - started) * 1000 / rounds;
  started = performance.now();
  for (let n = 0; n < rounds; n++) queue.nextTry();
  const nextTryUs = (performance.now() - started) * 1000 / rounds;
  queue.close();
  return { claimDueUs, nextTryUs };
}

// mailq: time to its first line of output, and to its end, and the lines it printed.
async function mailq(conf: string): Promise<{ firstLineS: number; totalS: number; lines: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, "mailq", "-C", conf],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let firstLineS = NaN;
  let lines = 0;
  for await (const chunk of child.stdout) {
    if (Number.isNaN(firstLineS) && chunk.includes(10)) {
      firstLineS = (performance.now() - started) / 1000;
    }
    for (const byte of chunk) if (byte === 10) lines++;
  }
  await child.status;
  return { firstLineS, totalS: (performance.now() - started) / 1000, lines };
}

async function measure(label: string, backlog: number) {
  const { dir, conf, port } = await prepare(label);
  const fillS = backlog > 0 ? await fillBacklog(dir, backlog) : 0;
  const tick = await tickCost(dir);
  // The first start on this queue (as root: the front compiles its modules into the
  // queue's front-cache), then a restart, as a daemon with a backlog is restarted.
  const first = await startDaemon(root, conf, port, asRoot);
  await stopDaemon(first);
  const daemon = await startDaemon(root, conf, port, asRoot);
  try {
    const afterStart = await memoryOf(daemon.pid);
    const listing = await mailq(conf);
    const afterList = await memoryOf(daemon.pid);
    const fresh = await sendLoad(port, `${dir}/mail`, FRESH, SESSIONS);
    const afterFresh = await memoryOf(daemon.pid);
    const list = LIST > 0 ? await fanOut(port, `${dir}/mail`, LIST) : undefined;
    const afterList20k = await memoryOf(daemon.pid);
    return {
      label,
      backlog,
      fillS: round(fillS),
      firstStartS: round(first.startS),
      startS: round(daemon.startS),
      mailqFirstLineS: round(listing.firstLineS),
      mailqTotalS: round(listing.totalS),
      mailqLines: listing.lines,
      claimDueUs: round(tick.claimDueUs),
      nextTryUs: round(tick.nextTryUs),
      rssMiB: { afterStart, afterList, afterFresh, afterList20k },
      fresh,
      list,
    };
  } finally {
    await stopDaemon(daemon);
    await Deno.remove(dir, { recursive: true });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

async function idsOf(user: string): Promise<string | undefined> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  const line = passwd.split("\n").find((l) => l.startsWith(`${user}:`));
  const fields = line?.split(":");
  return fields ? `${fields[2]}:${fields[3]}` : undefined;
}

function ids(pair: string): [number, number] {
  const [uid, gid] = pair.split(":").map(Number);
  return [uid!, gid!];
}

const empty = await measure("empty", 0);
console.log(JSON.stringify(empty));
const full = await measure("backlog", ENVELOPES);
console.log(JSON.stringify(full));
