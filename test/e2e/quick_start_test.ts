// The README's quick start on a fresh clone, exactly as a new user follows it: `git clone`,
// `deno task start` in the background, a message from a real SMTP client, the Maildir
// file, `smtpctl show stats` answered by the daemon, the daemon stopped by its pid. Once as the user running the tests (root in CI) and
// once as an ordinary user this test creates. The only change: `-D port=N` after the task,
// so that the test does not take the README's fixed port 2525 from a parallel run.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, waitFor } from "../_helpers.ts";
import { createUser, removeUser } from "../_users.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function have(tool: string): boolean {
  return new Deno.Command("sh", {
    args: ["-c", `command -v ${tool}`],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: exit ${out.code}: ${decode(out.stderr)}`);
  }
  return decode(out.stdout);
}

/** A real SMTP client: swaks as the README shows, else curl's SMTP. */
async function sendWithClient(port: number): Promise<string> {
  if (have("swaks")) {
    return await run("swaks", [
      "--server",
      `127.0.0.1:${port}`,
      "--from",
      "me@example.test",
      "--to",
      "alice@example.test",
    ]);
  }
  const message = await Deno.makeTempFile();
  await Deno.writeTextFile(message, "Subject: quick start\r\n\r\nThis is a test mailing\r\n");
  try {
    return await run("curl", [
      "-sS",
      `smtp://127.0.0.1:${port}`,
      "--mail-from",
      "me@example.test",
      "--mail-rcpt",
      "alice@example.test",
      "-T",
      message,
    ]);
  } finally {
    await Deno.remove(message);
  }
}

/** Clones the repository (what is committed) into `dir/repo`. */
async function freshClone(dir: string): Promise<string> {
  await run("git", ["clone", "-q", ROOT, `${dir}/repo`]);
  return `${dir}/repo`;
}

/**
 * `deno task start` in the clone (as `user`, when given), a message, the
 * Maildir, then SIGTERM to the pid of the started command.
 */
async function quickStart(clone: string, user?: { name: string; home: string }) {
  const port = freePort();
  const task = `cd ${clone} && exec deno task start -D port=${port}`;
  // setpriv execs the shell as the user, which execs deno task: the pid the test holds is
  // the task's own, as the pid of a command started in the background is for a user.
  const [cmd, args] = user
    ? ["setpriv", ["--reuid", user.name, "--regid", user.name, "--init-groups", "sh", "-c", task]]
    : ["sh", ["-c", task]];
  const env: Record<string, string> = user
    ? { HOME: user.home, USER: user.name, LOGNAME: user.name }
    : {};
  const child = new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).spawn();
  let log = "";
  const reading = Promise.all(
    [child.stdout, child.stderr].map((stream) =>
      stream.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (chunk) => void (log += chunk) }),
      )
    ),
  );
  try {
    // A first start compiles and fetches the npm packages: generous, for a loaded machine.
    await waitFor(
      "the daemon to be ready",
      () => log.includes("smtpd: ready") || undefined,
      240_000,
    );
    const transcript = await sendWithClient(port);
    if (have("swaks")) assertStringIncludes(transcript, "<-  250 2.0.0");
    const maildir = `${clone}/var/mail/alice/Maildir/new`;
    const files = await waitFor("the message in the Maildir", async () => {
      const names = [];
      try {
        for await (const entry of Deno.readDir(maildir)) names.push(entry.name);
      } catch {
        return undefined;
      }
      return names.length > 0 ? names : undefined;
    });
    assertEquals(files.length, 1);
    const text = await Deno.readTextFile(`${maildir}/${files[0]}`);
    assertStringIncludes(text, "Delivered-To: alice@example.test");
    assertEquals(log.includes("Requires run access"), false, log);
    // smtpctl, as the same user from the same clone, reaches the daemon through its socket.
    const smtpctl = [
      "run",
      "-A",
      "cli.ts",
      "smtpctl",
      "-f",
      "examples/smtpd.conf",
      "show",
      "stats",
    ];
    const stats = user
      ? await run("setpriv", [
        ...["--reuid", user.name, "--regid", user.name, "--init-groups", "deno", ...smtpctl],
      ], { cwd: clone, env })
      : await run("deno", smtpctl, { cwd: clone });
    assertStringIncludes(stats, "uptime=");
    assertEquals(log.includes("control: cannot listen"), false, log);
    return { log, stat: await Deno.stat(`${maildir}/${files[0]}`) };
  } finally {
    // Stopped by its pid, as the README's Ctrl-C would (SIGTERM reaches the daemon through
    // deno task, which passes it on).
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    assertEquals(status.code, 0, log);
    assertStringIncludes(log, "smtpd: stopped");
  }
}

const missing = ["git", "deno", "curl"].filter((tool) => !have(tool));
if (missing.length > 0) console.log(`quick start test skipped: ${missing.join(", ")} not found`);

Deno.test({
  name: "the quick start on a fresh clone works for whoever runs it (root in CI)",
  ignore: missing.length > 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-quickstart-" });
    try {
      const clone = await freshClone(dir);
      const { stat } = await quickStart(clone);
      assertEquals(stat.uid, Deno.uid());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const isRoot = Deno.uid() === 0;
const canCreateUsers = isRoot && have("useradd") && have("setpriv");
if (!canCreateUsers) {
  console.log("quick start as an ordinary user skipped: needs root, useradd and setpriv");
}

Deno.test({
  name: "the quick start on a fresh clone works for an ordinary user",
  ignore: missing.length > 0 || !canCreateUsers,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-quickstart-user-" });
    await Deno.chmod(dir, 0o755);
    const user = `qs${crypto.randomUUID().slice(0, 8)}`;
    await createUser(user, `${dir}/home`);
    try {
      const clone = await freshClone(`${dir}/home`);
      await run("chown", ["-R", `${user}:`, clone]);
      const { stat } = await quickStart(clone, { name: user, home: `${dir}/home` });
      const uid = Number((await run("id", ["-u", user])).trim());
      assertEquals(stat.uid, uid);
    } finally {
      await removeUser(user);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
