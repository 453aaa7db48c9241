// Kill rounds shared by the SIGKILL test and its benchmark: start the daemon, send with
// several sessions, SIGKILL it after a random delay, repeat; then let a last daemon drain
// the queue and count what arrived against what got a 250.

import { DatabaseSync } from "node:sqlite";
import { freePort, readMaildir, SmtpTestClient, waitFor, waitListening } from "../test/_helpers.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** What the rounds found. */
export interface KillResult {
  rounds: number;
  /** Messages that got a 250. */
  acknowledged: number;
  /** Acknowledged messages never delivered: must be 0. */
  lost: number;
  /** Extra copies of messages (at-least-once: possible, counted). */
  duplicates: number;
  /** Messages cut off before their 250 that were delivered all the same. */
  unacknowledgedDelivered: number;
  /** `PRAGMA integrity_check` of the queue after the last kill. */
  integrity: string;
}

/** Options of {@link runKillRounds}. */
export interface KillOptions {
  readonly rounds: number;
  readonly sessions: number;
  /** Seed of the kill delays, so a failing run can be repeated. */
  readonly seed: number;
  /** Longest delay before a kill, ms (default 700). */
  readonly maxDelayMs?: number;
}

/** Runs the rounds in a fresh directory and removes it afterwards. */
export async function runKillRounds(options: KillOptions): Promise<KillResult> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-sigkill-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${Deno.uid()}:${Deno.gid()}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const random = mulberry32(options.seed);
  const acknowledged = new Set<string>();
  const attempted = new Set<string>();
  let next = 0;
  try {
    for (let round = 0; round < options.rounds; round++) {
      const daemon = spawn(conf);
      await waitListening(port);
      let killed = false;
      const senders = Array.from({ length: options.sessions }, async () => {
        while (!killed) {
          const id = `m${next++}`;
          attempted.add(id);
          if (await sendOne(port, id)) acknowledged.add(id);
        }
      });
      await new Promise((r) => setTimeout(r, 50 + random() * (options.maxDelayMs ?? 700)));
      daemon.kill("SIGKILL");
      killed = true;
      await daemon.status;
      await Promise.all(senders);
    }
    const db = new DatabaseSync(`${dir}/queue/queue.sqlite`, { readOnly: true });
    const integrity = (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
      .integrity_check;
    db.close();

    const last = spawn(conf);
    try {
      await waitListening(port);
      const delivered = await waitFor("the queue to drain", async () => {
        const files = await readMaildir(`${dir}/mail`);
        const ids = files.map((f) => /Message-ID: <(m\d+)@/.exec(f.text)?.[1] ?? "?");
        const have = new Set(ids);
        return [...acknowledged].every((id) => have.has(id)) ? ids : undefined;
      }, 60_000).catch(async () =>
        (await readMaildir(`${dir}/mail`)).map((f) =>
          /Message-ID: <(m\d+)@/.exec(f.text)?.[1] ?? "?"
        )
      );
      const counts = new Map<string, number>();
      for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
      return {
        rounds: options.rounds,
        acknowledged: acknowledged.size,
        lost: [...acknowledged].filter((id) => !counts.has(id)).length,
        duplicates: [...counts.values()].reduce((n, c) => n + c - 1, 0),
        unacknowledgedDelivered: [...counts.keys()].filter((id) => !acknowledged.has(id)).length,
        integrity,
      };
    } finally {
      last.kill("SIGTERM");
      await last.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function spawn(conf: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

// One message in one session; true only when the 250 after DATA arrived.
async function sendOne(port: number, id: string): Promise<boolean> {
  try {
    await using client = await SmtpTestClient.connect(port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("a@client.test", ["u@example.test"]);
    await client.sendRaw(
      `Subject: ${id}\r\nMessage-ID: <${id}@client.test>\r\n\r\nbody of ${id}\r\n.\r\n`,
    );
    await client.expect("250 ");
    return true;
  } catch {
    return false;
  }
}

// A small seeded generator: the kill moments of a run can be replayed.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
