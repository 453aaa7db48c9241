// mailq and smtpctl show queue on a large queue (a receiver down for long): the daemon
// sends its listing in pages as it reads them, so a listing larger than one frame may
// carry (16 MB) is printed whole, oldest first, by the daemon and from the file alike.

import { assertEquals } from "../assert.ts";
import { openQueue } from "../../src/queue/mod.ts";
import { freePort, spawnDaemon, waitListening } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
/** Envelopes of ~330 bytes of JSON each: a listing of about 20 MB. */
const ENVELOPES = 60_000;

async function mailq(conf: string): Promise<{ code: number; lines: string[]; stderr: string }> {
  return await run(["mailq", "-C", conf]);
}

async function run(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    lines: text.split("\n").filter((l) => l !== ""),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test(`mailq and smtpctl show queue list ${ENVELOPES} deferred envelopes through the daemon and from the file`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-mailq-large-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "down" relay host "smtp://127.0.0.1:9"
match from any for domain "down.test" action "down"
`,
  );
  // The backlog, written through the queue as the daemon writes it, then made deferred.
  const queue = await openQueue(`${dir}/queue`);
  const content = new TextEncoder().encode("Subject: backlog\r\n\r\nbody\r\n");
  const rcpt = (n: number) => `recipient-${String(n).padStart(6, "0")}-${"x".repeat(60)}@down.test`;
  for (let first = 0; first < ENVELOPES; first += 2000) {
    await Promise.all(Array.from({ length: 2000 }, (_, n) =>
      queue.commit({
        sender: "list@client.test",
        helo: "client.test",
        src: "127.0.0.1",
        content,
        envelopes: [{ rcpt: rcpt(first + n), action: "down" }],
      })));
  }
  queue.close();
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dir}/queue/queue.sqlite`);
  db.prepare(
    "UPDATE envelopes SET next_try = ?, attempts = 3, last_error = '421 4.4.2 receiver down'",
  ).run(Date.now() + 3_600_000);
  db.close();
  const expected = Array.from({ length: ENVELOPES }, (_, n) => rcpt(n));
  const rcptOf = (line: string) => line.split("|")[5];
  const offline = await mailq(conf);
  assertEquals(offline.code, 0, offline.stderr);
  assertEquals(offline.lines.map(rcptOf).sort(), expected);
  const daemon = spawnDaemon(conf);
  try {
    await waitListening(port, 120_000);
    const listed = await mailq(conf);
    assertEquals(listed.code, 0, listed.stderr);
    assertEquals(listed.lines.length, ENVELOPES);
    // Oldest first: the listing's order is the order of arrival.
    const created = listed.lines.map((l) => Number(l.split("|")[7]));
    assertEquals(created.every((c, n) => n === 0 || created[n - 1]! <= c), true);
    assertEquals(listed.lines.map(rcptOf).sort(), expected);
    assertEquals(listed.lines.every((l) => l.split("|")[11] === "pending"), true);
    // smtpctl asks as root, through the privileged command: the same listing, in pages too.
    const shown = await run(["smtpctl", "-f", conf, "show", "queue"]);
    assertEquals(shown.code, 0, shown.stderr);
    assertEquals(shown.lines.map(rcptOf).sort(), expected);
    const json = await run(["smtpctl", "-f", conf, "show", "queue", "--json"]);
    assertEquals(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.lines.join("\n")) as { envelopes: { rcpt: string }[] };
    assertEquals(parsed.envelopes.map((e) => e.rcpt).sort(), expected);
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await Deno.remove(dir, { recursive: true });
  }
});
