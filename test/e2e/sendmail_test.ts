// The classic way in and the cron way out, as child processes: sendmail writes into the
// queue with or without a daemon, mailq lists it, queue flush delivers it once.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { freePort, readMaildir, spawnDaemon, waitFor, waitListening } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli.ts ARGS…` (or under another argv[0] with `as`), feeding `input`. */
async function cli(args: string[], input = "", env: Record<string, string> = {}, as?: string) {
  const command = as
    ? new Deno.Command("bash", {
      args: ["-c", `exec -a ${as} "$0" run -A "$@"`, Deno.execPath(), CLI, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    });
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) } as Run;
}

/** A configuration delivering example.test to Maildirs, other mail to a "bounces" box. */
async function setup(port = 0) {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-sendmail-" });
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(`${dir}/not-a-directory`, "");
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port || freePort()}
table vusers { "@example.test" = "vmail" }
table vbase { vmail = "${OWN_IDS}:/nonexistent" }
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual <vusers> userbase <vbase>
action "stuck" maildir "${dir}/not-a-directory/%{rcpt.user}" virtual <vusers> userbase <vbase>
action "outside" maildir "${dir}/mail/outside"
match from local for rcpt-to regex "^stuck" action "stuck"
match from local for domain "example.test" action "local"
match from local mail-from "" for any action "outside"
match from local for domain "refused.test" reject
match from local for any action "outside"
`,
  );
  return { dir, conf };
}

Deno.test("sendmail queues while no daemon runs; mailq lists it; queue flush delivers it", async () => {
  const { dir, conf } = await setup();
  const message = "To: Alice <alice@example.test>\nCc: bob@example.test\n" +
    "Bcc: carol@example.test\nSubject: cron output\n\nall is well\n";
  const sent = await cli([
    "sendmail",
    "-C",
    conf,
    "-t",
    "-oi",
    "-F",
    "Cron Daemon",
    "-f",
    "cron@example.test",
  ], message);
  assertEquals([sent.code, sent.stderr], [0, ""]);

  const listed = await cli(["mailq", "-C", conf]);
  assertEquals(listed.code, 0);
  const lines = listed.stdout.trim().split("\n");
  assertEquals(lines.length, 3, listed.stdout);
  for (const line of lines) {
    const fields = line.split("|");
    assertEquals(fields.length, 14);
    assertMatch(fields[0]!, /^[0-9a-f]{16}$/);
    // Read from the queue file with no daemon, as `smtpctl show queue` shows it then.
    assertEquals([fields[1], fields[2], fields[4], fields[11], fields[12]], [
      "local",
      "mda",
      "cron@example.test",
      "offline",
      "",
    ]);
  }
  assertEquals(lines.map((l) => l.split("|")[5]).sort(), [
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
  ]);
  // The dest column is an address, as OpenSMTPD's show_queue_envelope prints it
  // (dest.user@dest.domain), not the user the mailbox belongs to.
  assertEquals(lines.map((l) => l.split("|")[6]).sort(), [
    "alice@example.test",
    "bob@example.test",
    "carol@example.test",
  ]);

  const flushed = await cli(["queue", "flush", "-f", conf, "--json"]);
  assertEquals(flushed.code, 0, flushed.stderr);
  const summary = JSON.parse(flushed.stdout);
  assertEquals([summary.total, summary.delivered, summary.deferred], [3, 3, 0]);
  const [alice] = await readMaildir(`${dir}/mail/alice`);
  assertTrue(alice, "alice's copy is delivered");
  assertStringIncludes(alice.text, "Subject: cron output\n");
  assertStringIncludes(alice.text, "From: Cron Daemon <cron@example.test>\n");
  assertMatch(alice.text, /\nDate: \w{3}, \d+ \w{3} \d{4} /);
  assertMatch(alice.text, /\nMessage-ID: <[0-9a-f]{8}@/);
  assertTrue(!alice.text.includes("Bcc:"), "Bcc: is removed");
  assertEquals((await readMaildir(`${dir}/mail/carol`)).length, 1, "the Bcc recipient gets it");
  assertEquals((await cli(["mailq", "-C", conf])).stdout, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail exit codes: refused recipient 67, bad flags 64, broken configuration 78", async () => {
  const { dir, conf } = await setup();
  const refused = await cli(["sendmail", "-C", conf, "x@refused.test"], "Subject: no\n\nno\n");
  assertEquals(refused.code, 67);
  assertStringIncludes(refused.stderr, "<x@refused.test>");
  assertEquals((await cli(["sendmail", "-C", conf, "-N", "sometimes", "a@example.test"])).code, 64);
  assertEquals((await cli(["sendmail", "-C", conf], "Subject: nobody\n\n")).code, 64);
  await Deno.writeTextFile(`${dir}/broken.conf`, "listen on 127.0.0.1 port\n");
  const broken = await cli(["sendmail", "-C", `${dir}/broken.conf`, "a@example.test"], "x\n");
  assertEquals(broken.code, 78);
  assertStringIncludes(broken.stderr, `${dir}/broken.conf:1:`);
  // Nothing was queued by any of them.
  assertEquals((await cli(["mailq", "-C", conf])).stdout, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail with the queue key left to standard input says it needs $SMTPD_QUEUE_KEY", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-sendmail-key-" });
  const conf = `${dir}/smtpd.conf`;
  for (const word of ["", "stdin"]) {
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"\nqueue encryption ${word}\nlisten on 127.0.0.1 port 0\n` +
        `action "a" maildir "${dir}/mail"\nmatch from local for any action "a"\n`,
    );
    const result = await cli(["sendmail", "-C", conf, "a@example.test"], "Subject: s\n\nbody\n", {
      SMTPD_QUEUE_KEY: "",
    });
    assertEquals(result.code, 75);
    assertEquals(
      result.stderr,
      "sendmail: queue encryption: sendmail needs the key in $SMTPD_QUEUE_KEY or in the " +
        "configuration file (standard input holds the message)\n",
    );
  }
  // With the variable it queues.
  const key = "cd".repeat(32);
  const queued = await cli(["sendmail", "-C", conf, "root@example.test"], "Subject: s\n\nb\n", {
    SMTPD_QUEUE_KEY: key,
  });
  assertEquals([queued.code, queued.stderr], [0, ""]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail finds its configuration in SMTPD_CONFIG, and answers to its link name", async () => {
  const { dir, conf } = await setup();
  const viaEnv = await cli(["sendmail", "dave@example.test"], "Subject: env\n\nx\n", {
    SMTPD_CONFIG: conf,
  });
  assertEquals(viaEnv.code, 0, viaEnv.stderr);
  // Called as /usr/sbin/sendmail and /usr/bin/mailq (argv[0]), without a command word.
  const viaLink = await cli(
    ["-C", conf, "erin@example.test"],
    "Subject: link\n\nx\n",
    {},
    "/usr/sbin/sendmail",
  );
  assertEquals(viaLink.code, 0, viaLink.stderr);
  const listed = await cli(["-C", conf], "", {}, "/usr/bin/mailq");
  assertEquals(listed.stdout.trim().split("\n").length, 2, listed.stdout);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail -C FILE -bi rebuilds the alias tables that configuration names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-sendmail-" });
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\n");
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
table aliases db:${dir}/aliases.db
action "local" mbox alias <aliases>
match from local for local action "local"
`,
  );
  const rebuilt = await cli(["sendmail", "-C", conf, "-bi"]);
  assertEquals([rebuilt.code, rebuilt.stderr], [0, `newaliases: rebuilt ${dir}/aliases.db\n`]);
  const dump = await cli(["makemap", "-U", `${dir}/aliases.db`]);
  assertEquals(dump.stdout, "postmaster\troot\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail -bs speaks SMTP on standard input and output", async () => {
  const { dir, conf } = await setup();
  const dialogue = [
    "EHLO me",
    "MAIL FROM:<app@example.test>",
    "RCPT TO:<frank@example.test>",
    "DATA",
    "Subject: over smtp",
    "",
    "..leading dot",
    ".",
    "QUIT",
    "",
  ].join("\r\n");
  const run = await cli(["sendmail", "-bs", "-C", conf], dialogue);
  assertEquals(run.code, 0, run.stderr);
  const codes = run.stdout.split("\r\n").filter((l) => /^\d{3} /.test(l)).map((l) => l.slice(0, 3));
  assertEquals(codes, ["220", "250", "250", "250", "354", "250", "221"]);
  assertEquals((await cli(["queue", "flush", "-f", conf])).code, 0);
  const [mail] = await readMaildir(`${dir}/mail/frank`);
  assertStringIncludes(mail?.text ?? "", "\n.leading dot\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("queue flush exits 75 while something stays deferred, and prints one line", async () => {
  const { dir, conf } = await setup();
  assertEquals(
    (await cli(["sendmail", "-C", conf, "stuck@example.test"], "Subject: s\n\nx\n")).code,
    0,
  );
  assertEquals(
    (await cli(["sendmail", "-C", conf, "gina@example.test"], "Subject: g\n\nx\n")).code,
    0,
  );
  const flushed = await cli(["queue", "flush", "-f", conf]);
  assertEquals(flushed.code, 75);
  assertMatch(
    flushed.stdout,
    /^queue flush: 2 tried: 1 delivered, 1 deferred, 0 failed, 0 expired in [\d.]+ s\n$/,
  );
  // The deferred one is not due yet: a plain flush leaves it, --all tries it again.
  assertEquals(JSON.parse((await cli(["queue", "flush", "-f", conf, "--json"])).stdout).total, 0);
  assertEquals(
    JSON.parse((await cli(["queue", "flush", "-f", conf, "--json", "--all"])).stdout).total,
    1,
  );
  const [line] = (await cli(["mailq", "-C", conf])).stdout.trim().split("\n");
  const fields = line!.split("|");
  assertEquals(fields[10], "2", "two attempts so far");
  assertStringIncludes(fields[13]!, "Not a directory");
  // With no daemon the listing has no delay: the envelope's next try says when it is due.
  const nextTry = async () => {
    const shown = await cli(["smtpctl", "-f", conf, "show", "queue", "--json"]);
    return JSON.parse(shown.stdout).envelopes[0].nextTry as number;
  };
  // smtpctl schedule all makes it due at once (a running daemon would try it within a second).
  assertTrue(await nextTry() > Date.now(), "not due yet");
  const scheduled = await cli(["smtpctl", "schedule", "all", "-f", conf]);
  assertEquals(scheduled.stdout, "1 envelope scheduled\n");
  assertTrue(await nextTry() <= Date.now(), "due now");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a running daemon delivers what sendmail queues, and a concurrent flush never doubles it", async () => {
  const port = freePort();
  const { dir, conf } = await setup(port);
  const RCPTS = 200;
  // One message for 200 recipients, queued while no daemon runs.
  const rcpts = Array.from({ length: RCPTS }, (_, n) => `u${n}@example.test`);
  assertEquals((await cli(["sendmail", "-C", conf, ...rcpts], "Subject: backlog\n\nx\n")).code, 0);
  const daemon = spawnDaemon(conf);
  try {
    // The daemon works through the backlog while a flush runs beside it.
    await waitListening(port);
    const flushed = await cli(["queue", "flush", "-f", conf, "--json"]);
    assertEquals(flushed.code, 0, flushed.stderr);
    const byFlush = JSON.parse(flushed.stdout).delivered as number;
    assertTrue(byFlush <= RCPTS);
    // A message queued while the daemon runs is picked up without a flush.
    const late = await cli(["sendmail", "-C", conf, "late@example.test"], "Subject: late\n\nx\n");
    assertEquals(late.code, 0);
    await waitFor(
      "the late message",
      async () => (await readMaildir(`${dir}/mail/late`)).length === 1 || undefined,
      15_000,
    );
    const counts = await waitFor("the backlog", async () => {
      const counts = await Promise.all(
        rcpts.map(async (_, n) => (await readMaildir(`${dir}/mail/u${n}`)).length),
      );
      return counts.every((c) => c > 0) ? counts : undefined;
    }, 15_000);
    assertEquals(counts.filter((c) => c !== 1).length, 0, "every recipient got exactly one copy");
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sendmail reads to the end of input: a lone dot line stays in the message", async () => {
  const { dir, conf } = await setup();
  const body = "Subject: dots\n\nfirst\n.\nafter the dot\n..two\n";
  for (const flags of [[], ["-i"], ["-oi"]]) {
    const run = await cli(["sendmail", ...flags, "-C", conf, "hank@example.test"], body);
    assertEquals(run.code, 0, run.stderr);
  }
  assertEquals((await cli(["queue", "flush", "-f", conf])).code, 0);
  const mails = await readMaildir(`${dir}/mail/hank`);
  assertEquals(mails.length, 3);
  for (const mail of mails) assertStringIncludes(mail.text, "\nfirst\n.\nafter the dot\n..two\n");
  await Deno.remove(dir, { recursive: true });
});
