// The daemon as a service, as an operator sees it: without -d it goes into the background
// with a pid file and logs to syslog's mail facility; one daemon per pid file; SIGTERM
// refuses new connections, lets a message in progress get its 250, and loses nothing.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  readMaildir,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-service-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user}" userbase { alice = "${OWN_IDS}:${dir}" }
match from any for domain "example.test" action "local"
`,
  );
  return { dir, port, conf, pidFile: `${dir}/smtpd.pid`, maildir: `${dir}/mail/alice` };
}

/** `smtpd -f CONF` without -d, as an operator starts it; resolves when the command exits. */
async function startDetached(
  conf: string,
  env: Record<string, string>,
  denoFlags: string[] = ["-A", "--unstable-net"],
) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...denoFlags, CLI, "-u", "root", "-f", conf],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** `ps` on one process: its state, session id and terminal, or undefined once it is gone. */
async function ps(pid: number): Promise<{ stat: string; sid: number; tty: string } | undefined> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=,sid=,tty=", "-p", String(pid)],
    stdout: "piped",
  }).output();
  const [stat, sid, tty] = decode(out.stdout).trim().split(/\s+/);
  if (!stat || stat.startsWith("Z")) return undefined;
  return { stat, sid: Number(sid), tty: tty ?? "" };
}

async function processGone(pid: number): Promise<true | undefined> {
  return (await ps(pid)) === undefined ? true : undefined;
}

/**
 * A syslog socket of the test's own, read by a child process (the suite itself may not
 * bind unix sockets): every datagram the daemon sends, as text.
 */
async function syslogReceiver(path: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--unstable-net",
      `const conn = Deno.listenDatagram({ transport: "unixpacket", path: ${JSON.stringify(path)} });
       console.log("ready");
       for await (const [data] of conn) console.log(JSON.stringify(new TextDecoder().decode(data)));`,
    ],
    stdout: "piped",
  }).spawn();
  const lines: string[] = [];
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => ready = resolve);
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        for (const line of chunk.split("\n").filter((l) => l !== "")) {
          if (line === "ready") ready();
          else lines.push(JSON.parse(line));
        }
      },
    }),
  );
  await listening;
  return {
    lines,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await reading.catch(() => {});
    },
  };
}

Deno.test("without -d the daemon detaches, writes its pid file, logs to syslog's mail facility and removes the file at SIGTERM", async () => {
  const fx = await fixture();
  const syslog = await syslogReceiver(`${fx.dir}/log.sock`);
  try {
    const started = await startDetached(fx.conf, {
      SMTPD_PIDFILE: fx.pidFile,
      SMTPD_SYSLOG_SOCKET: `${fx.dir}/log.sock`,
    });
    assertEquals(started.code, 0, started.stderr);
    const pid = Number(Deno.readTextFileSync(fx.pidFile).trim());
    assertStringIncludes(started.stderr, `running in the background, pid ${pid}`);
    // The parent has exited and the daemon listens: its own session, no terminal.
    const process = await ps(pid);
    assertEquals(process?.sid, pid, "the daemon leads a session of its own (setsid)");
    assertEquals(process?.tty, "?", "the daemon has no controlling terminal");
    await waitListening(fx.port);
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("QUIT");
    await client.expect("221 ");
    // RFC 3164 lines of the mail facility (2 × 8 + info 6 = 22), tagged smtpd[pid].
    const ready = await waitFor(
      "the ready line in syslog",
      () => syslog.lines.find((l) => l.includes("smtpd: ready")),
    );
    assertMatch(
      ready,
      new RegExp(`^<22>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d smtpd\\[${pid}\\]: `),
    );
    Deno.kill(pid, "SIGTERM");
    await waitFor("the daemon to exit", () => processGone(pid));
    assertEquals(await Deno.stat(fx.pidFile).then(() => true, () => false), false);
    // The last datagram may still be on its way to the test's receiver when the process is gone.
    const stopped = await waitFor(
      "the stopped line in syslog",
      () => syslog.lines.find((l) => l.includes("smtpd: stopped")),
    );
    assertTrue(stopped.includes("smtpd: stopped"));
  } finally {
    await syslog.close();
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("a live pid file refuses the start, a stale one is replaced", async () => {
  const fx = await fixture();
  try {
    // This test's own pid is alive: another smtpd, as far as the file says.
    await Deno.writeTextFile(fx.pidFile, `${Deno.pid}\n`);
    const refused = await startDetached(fx.conf, { SMTPD_PIDFILE: fx.pidFile });
    assertEquals(refused.code, 1);
    assertStringIncludes(
      refused.stderr,
      `another smtpd (pid ${Deno.pid}) is running: ${fx.pidFile} names it; stop it first`,
    );
    // A pid whose process has exited, as after a crash.
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    await Deno.writeTextFile(fx.pidFile, `${dead.pid}\n`);
    const started = await startDetached(fx.conf, { SMTPD_PIDFILE: fx.pidFile });
    assertEquals(started.code, 0, started.stderr);
    const pid = Number(Deno.readTextFileSync(fx.pidFile).trim());
    assertTrue(pid !== dead.pid);
    Deno.kill(pid, "SIGTERM");
    await waitFor("the daemon to exit", () => processGone(pid));
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("where unix datagram sockets are missing, a detached daemon logs to smtpd.log beside the queue and says why", async () => {
  const fx = await fixture();
  try {
    const started = await startDetached(fx.conf, { SMTPD_PIDFILE: fx.pidFile }, ["-A"]);
    assertEquals(started.code, 0, started.stderr);
    const pid = Number(Deno.readTextFileSync(fx.pidFile).trim());
    const log = await waitFor("the log file", async () => {
      const text = await Deno.readTextFile(`${fx.dir}/queue/smtpd.log`).catch(() => "");
      return text.includes("smtpd: ready") ? text : undefined;
    });
    assertStringIncludes(log, "not to syslog: unix datagram sockets need deno run --unstable-net");
    assertEquals((await Deno.stat(`${fx.dir}/queue/smtpd.log`)).mode! & 0o777, 0o600);
    Deno.kill(pid, "SIGTERM");
    await waitFor("the daemon to exit", () => processGone(pid));
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("SIGTERM refuses new connections, ends idle sessions with 421, and a message mid-DATA gets its 250 and is delivered", async () => {
  const fx = await fixture();
  const daemon = spawnLoggedDaemon(fx.conf);
  try {
    await waitListening(fx.port);
    await using idle = await SmtpTestClient.connect(fx.port);
    await idle.expect("220 ");
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("me@client.test", ["alice@example.test"]);
    await client.sendRaw("Subject: in flight\r\n\r\nfirst half\r\n");

    daemon.child.kill("SIGTERM");
    await waitFor(
      "the stop to begin",
      () => daemon.log().includes("SIGTERM: stopping") || undefined,
    );
    await idle.expect("421 ");
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: fx.port }).then(
      (c) => (c.close(), false),
      (e) => e instanceof Deno.errors.ConnectionRefused,
    );
    assertTrue(refused, "a new connection after SIGTERM is refused");

    await client.sendRaw("second half\r\n.\r\n");
    const accepted = await client.expect("250 ");
    assertMatch(accepted, /^250 2\.0\.0 [0-9a-f]{8} Message accepted/);
    // The transaction is over: the session ends, as the server is stopping.
    await client.expect("421 ");
    const status = await daemon.exited();
    assertEquals(status.code, 0);

    // Delivered before the exit, or by the next start: either way it is in the Maildir.
    let files = await readMaildir(fx.maildir);
    if (files.length === 0) {
      const again = spawnLoggedDaemon(fx.conf);
      files = await waitFor("the delivery after restart", async () => {
        const found = await readMaildir(fx.maildir);
        return found.length > 0 ? found : undefined;
      });
      again.child.kill("SIGTERM");
      await again.exited();
    }
    assertEquals(files.length, 1);
    assertStringIncludes(files[0]!.text, "first half\nsecond half\n");
  } finally {
    try {
      daemon.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await daemon.exited();
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("a SIGTERM as soon as the port answers stops the daemon cleanly, not by the signal's default action", async () => {
  const fx = await fixture();
  const daemon = spawnLoggedDaemon(fx.conf);
  try {
    // The ports are bound before the start ends: the handlers must already be there. The
    // port is tried without a pause, to signal within moments of the bind.
    const deadline = Date.now() + 30_000;
    while (
      !(await Deno.connect({ hostname: "127.0.0.1", port: fx.port }).then(
        (c) => (c.close(), true),
        () => false,
      ))
    ) {
      assertTrue(Date.now() < deadline, "the daemon listens within 30 s");
    }
    daemon.child.kill("SIGTERM");
    const status = await daemon.exited();
    assertEquals(status.signal, null, daemon.log());
    assertEquals(status.code, 0, daemon.log());
    assertStringIncludes(daemon.log(), "smtpd: SIGTERM: stopping");
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("a session that does not finish its message is cut with 421 at the end of the grace period", async () => {
  const fx = await fixture();
  const daemon = spawnLoggedDaemon(fx.conf, { SMTPD_STOP_GRACE: "1" });
  try {
    await waitListening(fx.port);
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("me@client.test", ["alice@example.test"]);
    await client.sendRaw("Subject: never finished\r\n\r\n");
    daemon.child.kill("SIGTERM");
    await client.expect("421 ");
    assertEquals((await daemon.exited()).code, 0);
    assertStringIncludes(daemon.log(), "SIGTERM: stopping, 1 s for work in flight");
    assertEquals((await readMaildir(fx.maildir)).length, 0);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("a delivery still running at the end of the grace period stays queued for the next start", async () => {
  const fx = await fixture();
  await Deno.writeTextFile(
    fx.conf,
    `queue path "${fx.dir}/queue"
listen on 127.0.0.1 port ${fx.port}
action "slow" mda "touch ${fx.dir}/started; sleep 5; cat >/dev/null" userbase { alice = "${OWN_IDS}:${fx.dir}" }
match from any for domain "example.test" action "slow"
`,
  );
  const daemon = spawnLoggedDaemon(fx.conf, { SMTPD_STOP_GRACE: "0.5" });
  try {
    await waitListening(fx.port);
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("me@client.test", ["alice@example.test"]);
    await client.sendRaw("Subject: slow\r\n\r\nbody\r\n.\r\n");
    await client.expect("250 ");
    await waitFor(
      "the delivery to start",
      () => Deno.stat(`${fx.dir}/started`).then(() => true, () => undefined),
    );
    daemon.child.kill("SIGTERM");
    assertEquals((await daemon.exited()).code, 0);
    assertStringIncludes(daemon.log(), "1 deliveries still running at the end of the grace period");
    // The envelope is still in the queue, for the next start.
    const mailq = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "mailq", "-C", fx.conf],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertMatch(decode(mailq.stdout), /\|me@client\.test\|alice@example\.test\|/);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("the background copy keeps narrow permissions: the flags of deno run carry over", async () => {
  const fx = await fixture();
  const flags = [
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    `--allow-run=${Deno.execPath()}`,
  ];
  try {
    const started = await startDetached(fx.conf, { SMTPD_PIDFILE: fx.pidFile }, flags);
    assertEquals(started.code, 0, started.stderr);
    const pid = Number(Deno.readTextFileSync(fx.pidFile).trim());
    const args = await new Deno.Command("ps", {
      args: ["-o", "args=", "-p", String(pid)],
      stdout: "piped",
    })
      .output();
    assertStringIncludes(
      decode(args.stdout),
      `run ${flags.join(" ")} ${CLI} -u root -f ${fx.conf} --detached-child`,
    );
    await waitListening(fx.port);
    Deno.kill(pid, "SIGTERM");
    await waitFor("the daemon to exit", () => processGone(pid));
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("without --allow-run the daemon cannot go into the background and says to use -d", async () => {
  const fx = await fixture();
  try {
    const started = await startDetached(fx.conf, { SMTPD_PIDFILE: fx.pidFile }, [
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
    ]);
    assertEquals(started.code, 1);
    assertStringIncludes(
      started.stderr,
      "cannot go into the background: a Deno process cannot fork",
    );
    assertStringIncludes(started.stderr, "-d");
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});
