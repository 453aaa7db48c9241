// A full disk under the queue on the delivery side: deferred mail coming due while the
// disk is full, and a delivery whose result cannot be written. The daemon stays up,
// answers 451 to new mail, and once space is back delivers each message exactly once.
// Needs a small tmpfs, so root; skipped (with the reason printed) otherwise.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  readMaildir,
  sendMessage,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { fill, leaveFree, mountTmpfs, unmountTmpfs } from "../_tmpfs.ts";
import { DatabaseSync } from "node:sqlite";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** Envelopes left in the queue file (with `tried`, those tried once at least). */
function queuedEnvelopes(queueDir: string, tried = false): number {
  const db = new DatabaseSync(`${queueDir}/queue.sqlite`, { readOnly: true });
  try {
    const where = tried ? " WHERE attempts > 0" : "";
    return (db.prepare(`SELECT count(*) AS n FROM envelopes${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Waits until `n` envelopes are recorded as deferred (logged first, written just after). */
function deferralsWritten(queueDir: string, n: number): Promise<true> {
  return waitFor(
    `${n} deferral(s) written`,
    () => queuedEnvelopes(queueDir, true) >= n || undefined,
    60_000,
  );
}

/** A scratch directory with a 4 MB tmpfs at `fs`, or undefined (printed) when not root. */
async function scratch(name: string): Promise<{ dir: string; fs: string } | undefined> {
  const dir = await Deno.makeTempDir({ prefix: `smtpd-${name}-` });
  const fs = `${dir}/queue-fs`;
  await Deno.mkdir(fs);
  const skip = await mountTmpfs(fs, "4m");
  if (!skip) return { dir, fs };
  console.log(`skipped: ${name} test: ${skip}`);
  await Deno.remove(dir, { recursive: true });
  return undefined;
}

/** Stops a daemon that may have exited already. */
function stop(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGTERM");
  } catch {
    // Gone already: the test says why.
  }
}

function config(port: number, queueDir: string, maildir: string): string {
  return `queue path "${queueDir}"
listen on 127.0.0.1 port ${port}
action "local" maildir "${maildir}" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`;
}

/** Resolves with the first log line matching, or fails once the daemon has exited. */
function logLine(
  daemon: ReturnType<typeof spawnLoggedDaemon>,
  exited: () => boolean,
  pattern: RegExp,
  timeoutMs = 90_000,
): Promise<string> {
  return waitFor(`a log line ${pattern}`, () => {
    const found = daemon.log().split("\n").find((line) => pattern.test(line));
    if (found) return found;
    if (exited()) throw new Error(`the daemon exited; its log:\n${daemon.log()}`);
    return undefined;
  }, timeoutMs);
}

Deno.test("deferred mail due on a full queue disk: the daemon stays up, then delivers each once", async () => {
  const where = await scratch("diskfull-due");
  if (!where) return;
  const { dir, fs } = where;
  const port = freePort();
  const queueDir = `${fs}/queue`;
  const maildir = `${dir}/mail`;
  // A file where the Maildir should be: the first attempts fail, and are deferred.
  await Deno.writeTextFile(maildir, "");
  await Deno.writeTextFile(`${dir}/smtpd.conf`, config(port, queueDir, maildir));
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
  let exited = false;
  const status = daemon.exited().then((s) => (exited = true, s));
  try {
    await waitListening(port);
    for (const subject of ["one", "two", "three"]) {
      await sendMessage(port, {
        from: "a@client.test",
        to: [`${subject}@example.test`],
        body: `Subject: ${subject}\n\ndeferred first\n`,
      });
    }
    await deferralsWritten(queueDir, 3);
    // The Maildir could be written now, but the queue cannot when the retries come due.
    await Deno.remove(maildir);
    await fill(`${fs}/filler`);
    const line = await logLine(daemon, () => exited, /scheduler: cannot claim due envelopes/);
    assertStringIncludes(line, "database or disk is full");

    assertTrue(!exited, "the daemon is still running");
    await using client = await SmtpTestClient.connect(port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("a@client.test", ["four@example.test"]);
    await client.sendRaw("Subject: four\r\n\r\nno room for this one\r\n.\r\n");
    assertStringIncludes(await client.expect("451 "), "451 4.3.0");
    await client.send("QUIT");
    await client.expect("221 ");

    await Deno.remove(`${fs}/filler`);
    await waitFor(
      "the queue to drain",
      () => queuedEnvelopes(queueDir) === 0 || undefined,
      120_000,
    );
    const subjects = (await readMaildir(maildir)).map((f) => /Subject: (\w+)/.exec(f.text)?.[1]);
    assertEquals(subjects.sort(), ["one", "three", "two"]);
    assertTrue(!exited, "the daemon is still running");
    // It backed off (1 s, 2 s, 4 s…) rather than trying in a loop, and said when it recovered.
    const log = daemon.log();
    const failures = log.split("\n").filter((l) => l.includes("cannot claim due envelopes"));
    assertTrue(failures.length <= 10, `${failures.length} failed claims logged`);
    assertStringIncludes(log, "scheduler: the queue can be written again");
    if (Deno.env.get("SMTPD_TEST_LOG")) console.log(log);
  } finally {
    stop(daemon.child);
    await status;
    await unmountTmpfs(fs);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a delivery whose result hits a full disk is recorded later, and is in the Maildir once", async () => {
  const where = await scratch("diskfull-result");
  if (!where) return;
  const { dir, fs } = where;
  const port = freePort();
  const queueDir = `${fs}/queue`;
  // The Maildir shares the queue's disk: the delivery takes the last free pages, and the
  // result, written just after it, finds none.
  const maildir = `${fs}/mail`;
  await Deno.writeTextFile(maildir, "");
  await Deno.writeTextFile(`${dir}/smtpd.conf`, config(port, queueDir, maildir));
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
  let exited = false;
  const status = daemon.exited().then((s) => (exited = true, s));
  try {
    await waitListening(port);
    // Long lines: the Maildir copy is about as long as what was sent.
    const body = `Subject: big\n\n${`${"x".repeat(997)}\n`.repeat(400)}`;
    await sendMessage(port, { from: "a@client.test", to: ["big@example.test"], body });
    await deferralsWritten(queueDir, 1);
    await Deno.remove(maildir);
    for (const sub of ["tmp", "new", "cur"]) {
      await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
    }
    await fill(`${fs}/filler`);
    // Room for the claim (one page) and the Maildir copy (headers included), not for
    // the result (eight pages: the envelope, the message and their indexes).
    const page = 4096;
    const copy = Math.ceil((body.length + 2048) / page) * page;
    await leaveFree(`${fs}/filler`, copy + 4 * page);

    await logLine(daemon, () => exited, /cannot record result for/);
    assertEquals((await readMaildir(maildir)).length, 1);
    assertEquals(queuedEnvelopes(queueDir), 1);

    await Deno.remove(`${fs}/filler`);
    await waitFor(
      "the result to be written",
      () => queuedEnvelopes(queueDir) === 0 || undefined,
      120_000,
    );
    assertEquals((await readMaildir(maildir)).length, 1);
    assertTrue(!exited, "the daemon is still running");
  } finally {
    stop(daemon.child);
    await status;
    await unmountTmpfs(fs);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bounce that cannot be queued on a full disk is queued later, and arrives once", async () => {
  const where = await scratch("diskfull-bounce");
  if (!where) return;
  const { dir, fs } = where;
  const port = freePort();
  const queueDir = `${fs}/queue`;
  const mail = `${dir}/mail`;
  await Deno.mkdir(mail);
  // A file where big's Maildir should be: the first attempt is deferred, and the next
  // one, at the end of the queue lifetime, expires the envelope and bounces it.
  await Deno.writeTextFile(`${mail}/big`, "");
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${queueDir}"
queue ttl 6s
listen on 127.0.0.1 port ${port}
action "local" maildir "${mail}/%{rcpt.user}" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
  let exited = false;
  const status = daemon.exited().then((s) => (exited = true, s));
  try {
    await waitListening(port);
    // The bounce returns the whole message: far more than the pages left free.
    const body = `Subject: big\n\n${`${"x".repeat(997)}\n`.repeat(400)}`;
    await sendMessage(port, { from: "sender@example.test", to: ["big@example.test"], body });
    await deferralsWritten(queueDir, 1);
    await fill(`${fs}/filler`);
    // Room for the claim and the 'failed' state (three pages), not for the report.
    await leaveFree(`${fs}/filler`, 6 * 4096);

    const line = await logLine(daemon, () => exited, /bounce: cannot queue report/);
    assertStringIncludes(line, "database or disk is full");
    await Deno.remove(`${fs}/filler`);
    await waitFor(
      "the queue to drain",
      () => queuedEnvelopes(queueDir) === 0 || undefined,
      120_000,
    );
    const bounces = await readMaildir(`${mail}/sender`);
    assertEquals(bounces.length, 1);
    assertStringIncludes(bounces[0]!.text, "big@example.test");
    assertTrue(!exited, "the daemon is still running");
  } finally {
    stop(daemon.child);
    await status;
    await unmountTmpfs(fs);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a flush whose result hits a full disk: the daemon takes it back, and the Maildir keeps one copy", async () => {
  const where = await scratch("diskfull-flush");
  if (!where) return;
  const { dir, fs } = where;
  const port = freePort();
  const queueDir = `${fs}/queue`;
  const maildir = `${fs}/mail`;
  await Deno.writeTextFile(maildir, "");
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(conf, config(port, queueDir, maildir));
  const daemon = spawnLoggedDaemon(conf);
  let exited = false;
  const status = daemon.exited().then((s) => (exited = true, s));
  try {
    await waitListening(port);
    const body = `Subject: big\n\n${`${"x".repeat(997)}\n`.repeat(400)}`;
    await sendMessage(port, { from: "a@client.test", to: ["big@example.test"], body });
    // Two tries deferred: the daemon's next one is 40 s away, time for the flush.
    await waitFor("two tries written", () => {
      const db = new DatabaseSync(`${queueDir}/queue.sqlite`, { readOnly: true });
      try {
        const row = db.prepare("SELECT max(attempts) AS n FROM envelopes").get() as { n: number };
        return row.n >= 2 || undefined;
      } finally {
        db.close();
      }
    }, 60_000);
    await Deno.remove(maildir);
    for (const sub of ["tmp", "new", "cur"]) {
      await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
    }
    await fill(`${fs}/filler`);
    // Room for `--all` and the claim (three pages), and the Maildir copy; not the result.
    const page = 4096;
    await leaveFree(`${fs}/filler`, Math.ceil((body.length + 2048) / page) * page + 5 * page);
    const flush = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "queue", "flush", "-f", conf, "--all", "--json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const summary = JSON.parse(new TextDecoder().decode(flush.stdout));
    assertEquals([flush.code, summary.unrecorded], [75, 1]);
    assertEquals((await readMaildir(maildir)).length, 1);

    // The flush is gone, its lease with it: the daemon takes the envelope back (within a
    // minute), finds the message in the Maildir, and records it as delivered.
    await Deno.remove(`${fs}/filler`);
    await waitFor(
      "the queue to drain",
      () => queuedEnvelopes(queueDir) === 0 || undefined,
      150_000,
    );
    assertEquals((await readMaildir(maildir)).length, 1);
    assertTrue(!exited, "the daemon is still running");
  } finally {
    stop(daemon.child);
    await status;
    await unmountTmpfs(fs);
    await Deno.remove(dir, { recursive: true });
  }
});
