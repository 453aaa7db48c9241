// Local submission for any user: the daemon started by root as an operator starts it (its
// SMTP front as _smtpd, owning the 0700 queue); `nobody`, who cannot write the queue,
// sends with `sendmail -t` while it runs (through its socket) and while it is stopped (an
// offline file, picked up at the next start); both arrive byte for byte, mailq lists the
// private queue through the daemon to root and not to nobody, and a file that is not an
// offline file is moved aside
// with a log line. Skipped, with the reason printed, unless run as root with setpriv.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { waitFor } from "../_helpers.ts";
import { accountIds, copyModuleCache, ensureFrontUser, skipReason } from "./_privsep.ts";

const CHECKOUT = new URL("../..", import.meta.url).pathname;
const CLI = `${CHECKOUT}cli.ts`;
const NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];

function bytes(...parts: (string | number[])[]): Uint8Array {
  return new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );
}

// 8-bit bytes that are not UTF-8 in a header and in the body, a NUL, a final empty line;
// Date:, Message-ID: and From: given, so the daemon adds only its Received: header.
function message(n: number): Uint8Array {
  return bytes(
    `From: Jos`,
    [0xe9],
    ` <jose@example.test>\nTo: nobody@localhost, late@later.test\nSubject: caf`,
    [0xc3, 0xa9, 0x20, 0xff],
    `\nDate: Tue, 1 Dec 2026 12:00:00 +0000\nMessage-ID: <m${n}@example.test>\n\nbody ${n} `,
    [0x80, 0x00, 0xf0, 0x9f, 0x93, 0xa7],
    "\n\tindented\n\n",
  );
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// Runs a command as nobody, with nothing of root's environment but a module cache of its own.
async function asNobody(args: string[], env: Record<string, string>, input?: Uint8Array) {
  const child = new Deno.Command("setpriv", {
    args: [...NOBODY, "--", ...args],
    clearEnv: true,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1", ...env },
    cwd: "/",
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  if (input) {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) } as Ran;
}

async function waitForMail(dir: string, count: number): Promise<Uint8Array[]> {
  return await waitFor(`${count} message(s) in ${dir}/new`, () => {
    let names: string[];
    try {
      names = [...Deno.readDirSync(`${dir}/new`)].map((e) => e.name).sort();
    } catch {
      return undefined;
    }
    return names.length >= count
      ? names.map((name) => Deno.readFileSync(`${dir}/new/${name}`))
      : undefined;
  }, 60_000);
}

function endsWith(haystack: Uint8Array, tail: Uint8Array): boolean {
  if (tail.length > haystack.length) return false;
  const start = haystack.length - tail.length;
  return tail.every((b, i) => haystack[start + i] === b);
}

interface Daemon {
  readonly child: Deno.ChildProcess;
  log(): string;
  readonly done: Promise<unknown>;
}

// Started as root with no -u: the privileged parent and its SMTP front as _smtpd.
function startDaemon(conf: string): Daemon {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-f", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  return { child, log: () => text, done: Promise.all([child.status, reading]) };
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  daemon.child.kill("SIGTERM");
  await daemon.done;
}

// The scratch configuration, and a module cache nobody can use.
async function scratch(dir: string) {
  // nobody and _smtpd may traverse the scratch directory and read the configuration; the
  // Maildirs are written as nobody, the recipient.
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/queue`, { mode: 0o700 });
  await Deno.mkdir(`${dir}/mail`);
  await Deno.chmod(`${dir}/mail`, 0o1777);
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
  listen on 127.0.0.1 port 0
  action "local" maildir "${dir}/mail/%{rcpt.user}"
  action "later" relay host smtp+notls://127.0.0.1:9
  match from local for local action "local"
  match from local for domain "later.test" action "later"
  `,
  );
  await Deno.chmod(conf, 0o644);
  // The checkout is readable by nobody, root's module cache is not: nobody gets a copy.
  const cache = `${dir}/deno-cache`;
  await copyModuleCache(cache);
  const env = { DENO_DIR: cache };
  const deno = [Deno.execPath(), "run", "-A", "--cached-only", CLI];
  const offline = `${dir}/queue-offline`;
  return { conf, env, deno, offline };
}

Deno.test("any user submits through the daemon's socket, or offline while it is stopped; mailq asks the daemon", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: local submission test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-local-submission-" });
  let daemon: Daemon | undefined;
  try {
    const { conf, env, deno, offline } = await scratch(dir);

    // 1. The daemon runs: sendmail goes through its socket.
    daemon = startDaemon(conf);
    const running = daemon;
    await waitFor("the daemon's socket", async () => {
      const socket = await Deno.lstat(`${offline}/smtpd.sock`).catch(() => undefined);
      return socket?.isSocket ? true : undefined;
    }, 90_000);
    // The queue and the offline directory are the front's; the queue is not nobody's to
    // write, so whatever arrives came by the daemon.
    const front = await accountIds("_smtpd");
    const queueInfo = await Deno.stat(`${dir}/queue`);
    assertEquals([queueInfo.uid, (queueInfo.mode ?? 0) & 0o777], [front.uid, 0o700]);
    const touch = await asNobody(["touch", `${dir}/queue/probe`], {});
    assertTrue(touch.code !== 0, "nobody cannot write the queue");
    const offlineInfo = await Deno.stat(offline);
    assertEquals([offlineInfo.uid, (offlineInfo.mode ?? 0) & 0o7777], [front.uid, 0o3777]);
    assertEquals((await Deno.lstat(`${offline}/smtpd.sock`)).uid, front.uid);
    const first = message(1);
    const sent = await asNobody([...deno, "sendmail", "-t", "-C", conf], env, first);
    assertEquals([sent.code, sent.stderr], [0, ""]);
    const [delivered] = await waitForMail(`${dir}/mail/nobody`, 1);
    assertTrue(
      endsWith(delivered!, first),
      "the delivered file ends with the input, byte for byte",
    );
    const text = String.fromCharCode(...delivered!);
    assertMatch(text, /\nReceived: by [^\n]+ \(OpenSMTPD\) with LOCAL id [0-9a-f]{8}\n/);
    assertStringIncludes(running.log(), "local: via=socket uid=65534 user=nobody message ");
    assertTrue(
      [...Deno.readDirSync(offline)].every((e) => e.name === "smtpd.sock"),
      "no proof or drop is left in the offline directory",
    );

    // mailq: the private queue, listed by the daemon to root (the relay copy waits); to
    // nobody, as OpenSMTPD's mailq, not at all: it names every user's correspondents.
    const listed = await waitFor("the deferred copy in mailq", async () => {
      const run = await new Deno.Command(deno[0]!, {
        args: [...deno.slice(1), "mailq", "-C", conf],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      return run.code === 0 && stdout.includes("|late@later.test|") ? stdout : undefined;
    }, 60_000);
    const fields = listed.trim().split("|");
    assertEquals([fields[1], fields[2], fields[5]], ["local", "mta", "late@later.test"]);
    assertMatch(fields[4]!, /^nobody@/, "the sender is the submitting user");
    const refused = await asNobody([...deno, "mailq", "-C", conf], env);
    assertEquals([refused.code, refused.stdout, refused.stderr], [
      1,
      "",
      "mailq: need root privileges\n",
    ]);
    assertStringIncludes(running.log(), 'control: uid 65534 refused "show queue"');

    // 2. The daemon is stopped: sendmail leaves the message in the offline directory.
    await stopDaemon(running);
    daemon = undefined;
    const second = message(2);
    const dropped = await asNobody([...deno, "sendmail", "-t", "-C", conf], env, second);
    assertEquals([dropped.code, dropped.stderr], [0, ""]);
    const drops = [...Deno.readDirSync(offline)].filter((e) => !e.name.startsWith("."));
    assertEquals(drops.length, 1, "one offline file");
    const drop = await Deno.stat(`${offline}/${drops[0]!.name}`);
    // nobody's, in the front's group, readable by it and by no other user.
    assertEquals([drop.uid, drop.gid, (drop.mode ?? 0) & 0o777], [65534, front.gid, 0o640]);
    // Without the daemon, mailq cannot read root's queue, and says both reasons.
    const noList = await asNobody([...deno, "mailq", "-C", conf], env);
    assertEquals(noList.code, 66);
    assertStringIncludes(noList.stderr, "mailq: no daemon answers");
    // And a file in the offline directory that is not an offline file.
    const junk = await asNobody(["sh", "-c", `printf 'junk\\n' > ${offline}/junk`], {});
    assertEquals(junk.code, 0, junk.stderr);

    // 3. Started again: the offline file is queued as from nobody and removed; the junk is
    // moved aside into the queue, with a log line.
    daemon = startDaemon(conf);
    const again = daemon;
    const both = await waitForMail(`${dir}/mail/nobody`, 2);
    assertTrue(
      both.some((file) => endsWith(file, second)),
      "the offline message is delivered, byte for byte",
    );
    await waitFor("the junk moved aside", () => {
      try {
        Deno.statSync(`${dir}/queue/offline-aside/junk`);
        return true;
      } catch {
        return undefined;
      }
    }, 60_000);
    assertStringIncludes(again.log(), "local: via=offline uid=65534 user=nobody message ");
    assertMatch(
      again.log(),
      /offline: junk from uid 65534: not an offline file: [^\n]+; moved to [^\n]+\/queue\/offline-aside\/junk/,
    );
    const left = [...Deno.readDirSync(offline)].map((e) => e.name);
    assertEquals(left, ["smtpd.sock"], "the offline directory holds only the socket");
    await stopDaemon(again);
    daemon = undefined;
  } finally {
    if (daemon) await stopDaemon(daemon);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a socket another user plants in the offline directory is never used, and the daemon replaces it", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: planted socket test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-planted-socket-" });
  let daemon: Daemon | undefined;
  let fake: Deno.ChildProcess | undefined;
  try {
    const { conf, env, offline } = await scratch(dir);
    // A first start makes the offline directory the front's; then the daemon is down.
    daemon = startDaemon(conf);
    await waitFor("the daemon's socket", async () => {
      const socket = await Deno.lstat(`${offline}/smtpd.sock`).catch(() => undefined);
      return socket?.isSocket ? true : undefined;
    }, 90_000);
    await stopDaemon(daemon);
    daemon = undefined;

    // nobody listens on the socket's name, hoping to read other users' mail.
    await Deno.writeTextFile(
      `${dir}/fake.ts`,
      `const listener = Deno.listen({ transport: "unix", path: Deno.args[0]! });
console.log("listening");
for await (const conn of listener) {
  console.log("connected");
  conn.close();
}
`,
    );
    await Deno.chmod(`${dir}/fake.ts`, 0o644);
    fake = new Deno.Command("setpriv", {
      args: [
        ...NOBODY,
        "--",
        Deno.execPath(),
        "run",
        "-A",
        `${dir}/fake.ts`,
        `${offline}/smtpd.sock`,
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let heard = "";
    const hearing = fake.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (heard += chunk) }),
    );
    await waitFor("the planted socket", () => heard.includes("listening") || undefined, 90_000);
    assertEquals((await Deno.lstat(`${offline}/smtpd.sock`)).uid, 65534);

    // root's sendmail does not trust it: the message goes offline.
    const input = message(3);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "sendmail", "-t", "-v", "-C", conf],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
    const sent = await child.output();
    const stderr = new TextDecoder().decode(sent.stderr);
    assertEquals(sent.code, 0, stderr);
    assertStringIncludes(stderr, "sendmail: left for the daemon as ");
    assertTrue(!heard.includes("connected"), "nothing connected to the planted socket");

    // The daemon replaces the planted socket and delivers the offline message.
    daemon = startDaemon(conf);
    const started = daemon;
    const [delivered] = await waitForMail(`${dir}/mail/nobody`, 1);
    assertTrue(endsWith(delivered!, input), "the message is delivered, byte for byte");
    assertMatch(started.log(), /control: [^\n]+\/smtpd\.sock belonged to uid 65534: replaced/);
    assertEquals((await Deno.lstat(`${offline}/smtpd.sock`)).uid, (await accountIds("_smtpd")).uid);
    fake.kill("SIGTERM");
    await fake.status;
    await hearing;
    fake = undefined;
    assertTrue(!heard.includes("connected"), "nothing ever connected to the planted socket");
    await stopDaemon(started);
    daemon = undefined;
  } finally {
    if (fake) {
      fake.kill("SIGKILL");
      await fake.status;
    }
    if (daemon) await stopDaemon(daemon);
    await Deno.remove(dir, { recursive: true });
  }
});
