// Many writers on one queue file at once: sendmail processes started together beside a
// running daemon, while another process holds the write lock for longer than a busy
// timeout, all wait their turn for the busy database: none is refused, and every message
// is delivered exactly once.

import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  readMaildir,
  spawnDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const SUBMISSIONS = 80;
/** How long the file is held busy: longer than SQLite's (and node:sqlite's) 5 s timeout. */
const HOLD_MS = 15_000;

async function sendmail(conf: string, n: number): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "sendmail", "-C", conf, "-f", "cron@example.test", "u@example.test"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`Subject: run ${n}\n\nmessage ${n}\n`));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test(`${SUBMISSIONS} sendmail runs at once beside a daemon all succeed, each delivered once`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-concurrent-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnDaemon(conf);
  try {
    await waitListening(port);
    // Another writer (a long flush, a big message) holds the file while they start.
    const holder = new DatabaseSync(`${dir}/queue/queue.sqlite`);
    holder.exec("BEGIN IMMEDIATE");
    const released = new Promise((resolve) => setTimeout(resolve, HOLD_MS)).then(() => {
      holder.exec("COMMIT");
      holder.close();
    });
    const runs = await Promise.all(
      Array.from({ length: SUBMISSIONS }, (_, n) => sendmail(conf, n)),
    );
    await released;
    const refused = runs.flatMap((r, n) =>
      r.code === 0 ? [] : [`run ${n}: exit ${r.code}: ${r.stderr.trim()}`]
    );
    assertEquals(refused, []);
    const files = await waitFor("every message delivered", async () => {
      const found = await readMaildir(`${dir}/mail`);
      return found.length >= SUBMISSIONS ? found : undefined;
    }, 120_000);
    // Delivered exactly once: one file per run, and nothing left in the queue to deliver.
    const runsSeen = files.map((f) => Number(/Subject: run (\d+)/.exec(f.text)?.[1]));
    assertEquals(runsSeen.sort((a, b) => a - b), Array.from({ length: SUBMISSIONS }, (_, n) => n));
    await waitFor("the queue to drain", () => {
      const db = new DatabaseSync(`${dir}/queue/queue.sqlite`, { readOnly: true });
      try {
        const { n } = db.prepare("SELECT count(*) AS n FROM envelopes").get() as { n: number };
        return n === 0 ? true : undefined;
      } finally {
        db.close();
      }
    }, 60_000);
    assertEquals((await readMaildir(`${dir}/mail`)).length, SUBMISSIONS);
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await Deno.remove(dir, { recursive: true });
  }
});
