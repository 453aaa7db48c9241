// smtpctl's switches of a running daemon, seen in its log: `log verbose|brief` turns its
// debug lines on and off, `trace SUBSYSTEM` adds that subsystem's lines (whatever the
// verbosity) until `untrace`, and `profile queue` times queue steps, in the log and in
// show stats, until `unprofile`.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { OWN_IDS, sendMessage, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctl, smtpctlOk } from "./_smtpctl.ts";

const count = (text: string, pattern: RegExp) =>
  text.split("\n").filter((l) => pattern.test(l)).length;

Deno.test("smtpctl trace, profile and log verbose change what the daemon logs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-trace-" });
  await Deno.chmod(dir, 0o755);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  await Deno.chmod(conf, 0o644);
  const daemon = spawnLoggedDaemon(conf);
  let sent = 0;
  // Each message is delivered and its session gone before the log is read: its lines are
  // all written by then (the session's last state change comes with its disconnection).
  const send = async () => {
    const n = ++sent;
    await sendMessage(port, {
      from: "sender@client.test",
      to: [`user${n}@example.test`],
      body: `Subject: number ${n}\n\nx\n`,
    });
    await waitFor(
      `message ${n} delivered`,
      () =>
        daemon.log().split("\n").some((l) =>
          l.includes(" mda delivery ") && l.includes(`to=<user${n}@example.test>`) &&
          l.includes("result=Ok")
        ) || undefined,
      60_000,
    );
    await waitFor(
      `session ${n} disconnected`,
      () => count(daemon.log(), / smtp disconnected reason=/) >= n || undefined,
      60_000,
    );
    return daemon.log();
  };
  const SMTP_TRACE = / debug: smtp: [0-9a-f]{16}: <<< MAIL FROM:<sender@client\.test>$/;
  const STATE_LINE = / debug: smtp-in: session [0-9a-f]{16} state /;
  const PROFILE_LINE = / debug: profile-queue: commit \d+\.\d{6}s$/;
  try {
    await waitFor("the daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);
    let log = await send();
    assertEquals([count(log, SMTP_TRACE), count(log, STATE_LINE)], [0, 0]);

    // log verbose: the debug lines (the session's state changes) appear; log brief: no more.
    assertEquals(await smtpctlOk(conf, ["log", "verbose"]), "command succeeded\n");
    log = await send();
    const verboseLines = count(log, STATE_LINE);
    assertTrue(verboseLines > 0, "debug lines once verbose");
    await smtpctlOk(conf, ["log", "brief"]);
    log = await send();
    assertEquals(count(log, STATE_LINE), verboseLines);

    // trace smtp and rules: the dialogue and the rule that matched, while the log is brief.
    await smtpctlOk(conf, ["trace", "smtp"]);
    await smtpctlOk(conf, ["trace", "rules"]);
    log = await send();
    assertEquals(count(log, SMTP_TRACE), 1);
    assertMatch(log, / debug: smtp: [0-9a-f]{16}: >>> 250 /);
    assertMatch(
      log,
      new RegExp(
        ` debug: rules: from=<sender@client\\.test> to=<user${sent}@example\\.test>: ` +
          `matched the rule at ${conf.replaceAll(".", "\\.")}:4$`,
        "m",
      ),
    );
    assertEquals(count(log, STATE_LINE), verboseLines, "trace is not log verbose");
    await smtpctlOk(conf, ["untrace", "smtp"]);
    log = await send();
    assertEquals(count(log, SMTP_TRACE), 1);
    assertEquals(count(log, / debug: rules: /), 2, "rules still traced");
    await smtpctlOk(conf, ["untrace", "all"]);
    log = await send();
    assertEquals(count(log, / debug: rules: /), 2);

    // profile queue: each commit timed in the log and counted in show stats.
    const statOf = async (key: string) => {
      const line = (await smtpctlOk(conf, ["show", "stats"])).split("\n").find((l) =>
        l.startsWith(`${key}=`)
      );
      return line === undefined ? 0 : Number(line.slice(key.length + 1));
    };
    assertEquals(await statOf("profiling.queue.commit.count"), 0);
    await smtpctlOk(conf, ["profile", "queue"]);
    log = await send();
    const profiled = count(log, PROFILE_LINE);
    assertTrue(profiled >= 1, "a commit profiled");
    const counted = await statOf("profiling.queue.commit.count");
    assertEquals(counted, profiled);
    assertTrue(await statOf("profiling.queue.commit.usec") > 0, "time counted");
    await smtpctlOk(conf, ["unprofile", "queue"]);
    log = await send();
    assertEquals(count(log, PROFILE_LINE), profiled);
    assertEquals(await statOf("profiling.queue.commit.count"), counted);

    const bad = await smtpctl(conf, ["profile", "smtp"]);
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /invalid profile subsystem "smtp"/);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("smtpd -T SUBSYSTEM traces from the start; an unknown one is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-trace-start-" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, ...args],
      stdout: "null",
      stderr: "piped",
    });
  try {
    const bad = await run(["-n", "-T", "nonsense", "-f", conf]).output();
    assertEquals(bad.code, 64);
    assertMatch(new TextDecoder().decode(bad.stderr), /-T nonsense: unknown trace subsystem/);

    const child = run(["-d", "-u", "root", "-T", "rules", "-f", conf]).spawn();
    let log = "";
    const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (log += chunk) }),
    );
    try {
      await waitFor("the daemon ready", () => log.includes("smtpd: ready") || undefined, 60_000);
      await sendMessage(port, {
        from: "sender@client.test",
        to: ["first@example.test"],
        body: "Subject: traced\n\nx\n",
      });
      await waitFor(
        "the rules trace line",
        () =>
          / debug: rules: from=<sender@client\.test> to=<first@example\.test>: /.test(log) ||
          undefined,
        60_000,
      );
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
