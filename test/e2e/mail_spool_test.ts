// mbox delivery into the system's mail spool, by a root daemon, as the mailbox's user: a
// Debian spool (/var/mail, root:mail 2775) is entered with group mail, as mail.local and
// dotlockfile do; a spool only root may write has the mailbox created for the user by the
// daemon. Each mailbox ends up the user's own, mode 0600, its dot-lock gone. Skipped, with
// the reason printed, when the tests do not run as root.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { createUser, removeUser } from "../_users.ts";
import { freePort, sendMessage, spawnLoggedDaemon, waitFor, waitListening } from "../_helpers.ts";
import { processesOf, procFile } from "./_privsep.ts";

async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "not running as root";
  try {
    new Deno.Command("useradd", { args: ["--help"], stdout: "null", stderr: "null" }).outputSync();
  } catch {
    return "useradd is not available";
  }
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`mail spool tests skipped: ${skip}`);

/** A user of its own (home in `dir`), the daemon delivering `@spool.test` to mbox. */
async function spoolFixture(spool: string) {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-spool-" });
  await Deno.chmod(dir, 0o755);
  const name = `sp${crypto.randomUUID().slice(0, 8)}`;
  await createUser(name, `${dir}/home`);
  const uid = Number(await run("id", "-u", name));
  const gid = Number(await run("id", "-g", name));
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${port}\naction "m" mbox\n` +
      `match from any for domain "spool.test" action "m"\n`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, { SMTPD_MAIL_SPOOL: spool });
  await waitListening(port);
  return {
    name,
    uid,
    gid,
    mailbox: `${spool}/${name}`,
    async send(body: string) {
      await sendMessage(port, {
        from: "me@client.test",
        to: [`${name}@spool.test`],
        body: `Subject: spool\r\n\r\n${body}`,
      });
    },
    async waitForMessages(count: number): Promise<string> {
      return await waitFor(`${count} message(s) in ${spool}/${name}\n${daemon.log()}`, async () => {
        const text = await Deno.readTextFile(`${spool}/${name}`).catch(() => "");
        return text.split("\nFrom ").length === count && text.includes(`message ${count}`)
          ? text
          : undefined;
      }, 30_000);
    },
    /** The dot-lock is removed once the append is done (just after the message is in). */
    async lockGone(): Promise<void> {
      await waitFor(
        `${spool}/${name}.lock to be removed`,
        () => Deno.lstat(`${spool}/${name}.lock`).then(() => undefined, () => true),
      );
    },
    async [Symbol.asyncDispose]() {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(`${spool}/${name}`).catch(() => {});
      await removeUser(name);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function mailGroup(): Promise<number> {
  const line = (await Deno.readTextFile("/etc/group")).split("\n").find((l) =>
    l.startsWith("mail:")
  );
  if (!line) throw new Error("no group mail in /etc/group");
  return Number(line.split(":")[2]);
}

// Debian's /var/mail when it has Debian's modes; else a scratch spool made the same way.
async function debianSpool(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const mail = await mailGroup();
  const real = await Deno.stat("/var/mail").catch(() => undefined);
  if (real && real.uid === 0 && real.gid === mail && (real.mode! & 0o7777) === 0o2775) {
    return { path: "/var/mail", cleanup: () => Promise.resolve() };
  }
  const path = await Deno.makeTempDir({ prefix: "smtpd-var-mail-" });
  await Deno.chown(path, 0, mail);
  await Deno.chmod(path, 0o2775);
  return { path, cleanup: () => Deno.remove(path, { recursive: true }) };
}

Deno.test({
  name: "as root, mbox in a Debian spool (root:mail 2775) is written as the user with group mail",
  ignore: skip !== undefined,
  async fn() {
    const spool = await debianSpool();
    try {
      await using fx = await spoolFixture(spool.path);
      await fx.send("message 1\r\n");
      const text = await fx.waitForMessages(1);
      assertStringIncludes(text, "From me@client.test ");
      assertStringIncludes(text, `Delivered-To: ${fx.name}@spool.test`);
      const info = await Deno.stat(fx.mailbox);
      assertEquals(info.uid, fx.uid, "the mailbox belongs to its user");
      assertEquals(info.gid, await mailGroup(), "group mail, from the setgid spool");
      assertEquals(info.mode! & 0o777, 0o600);
      await fx.lockGone();
      await fx.send("message 2\r\n");
      await fx.waitForMessages(2);
    } finally {
      await spool.cleanup();
    }
  },
});

// The writer that enters the spool with group mail holds what the user may not: it must be
// started as setgid mail.local is, real gid the user's and effective gid mail, so the kernel
// makes it non-dumpable (no ptrace, no /proc/PID/mem or environ for the user), and the
// modules it loads must come from a cache the user cannot write.
Deno.test({
  name: "as root, the user's writer with group mail is out of the user's reach",
  ignore: skip !== undefined,
  async fn() {
    const spool = await debianSpool();
    let cache = "";
    try {
      await using fx = await spoolFixture(spool.path);
      await fx.send("message 1\r\n");
      await fx.waitForMessages(1);
      const mail = await mailGroup();
      const pid = await waitFor("the user's mailbox writer", () => writerOf(fx.uid));
      const ids = await processIds(pid);
      assertEquals(ids.gids.slice(0, 2), [fx.gid, mail], "real gid the user's, effective mail");
      const asUser = (...command: string[]) =>
        new Deno.Command("setpriv", {
          args: [`--reuid=${fx.uid}`, `--regid=${fx.gid}`, "--clear-groups", "--", ...command],
          stdout: "null",
          stderr: "piped",
        }).output();
      for (const file of ["environ", "mem"]) {
        const read = await asUser("cat", `/proc/${pid}/${file}`);
        assertEquals(read.success, false, `the user read /proc/${pid}/${file}`);
        assertStringIncludes(new TextDecoder().decode(read.stderr), "Permission denied");
      }
      // Under `deno run` (as here) the writer has a module cache; a compiled one has none.
      cache = (await procFile(pid, "environ")).split("\0")
        .find((v) => v.startsWith("DENO_DIR="))?.slice("DENO_DIR=".length) ?? "";
      const info = await Deno.stat(cache);
      assertEquals([info.uid, info.mode! & 0o777], [0, 0o755], `${cache}: root's, 0755`);
      const plant = await asUser("mkdir", "-p", `${cache}/gen/planted`);
      assertEquals(plant.success, false, "the user wrote into the writer's module cache");
      await fx.send("message 2\r\n");
      await fx.waitForMessages(2);
      await fx.lockGone();
    } finally {
      await spool.cleanup();
    }
    const left = await Deno.lstat(cache).then(() => true, () => false);
    assertEquals(left, false, `${cache} is removed when the daemon exits`);
  },
});

// The process of a mailbox writer running as `uid`, if one is running.
async function writerOf(uid: number): Promise<number | undefined> {
  return (await processesOf(uid)).find((p) => /mailbox/.test(p.args))?.pid;
}

// Real, effective, saved and file-system ids of a process, from /proc/PID/status.
async function processIds(pid: number): Promise<{ uids: number[]; gids: number[] }> {
  const status = await procFile(pid, "status");
  const ids = (name: string) =>
    (status.match(new RegExp(`^${name}:\\s+(.*)$`, "m"))?.[1] ?? "").split(/\s+/).map(Number);
  return { uids: ids("Uid"), gids: ids("Gid") };
}

Deno.test({
  name:
    "as root, mbox in a spool only root may write is created for the user and appended as the user",
  ignore: skip !== undefined,
  async fn() {
    const spool = await Deno.makeTempDir({ prefix: "smtpd-root-spool-" });
    await Deno.chmod(spool, 0o755);
    try {
      await using fx = await spoolFixture(spool);
      await fx.send("message 1\r\n");
      await fx.waitForMessages(1);
      await fx.send("message 2\r\n");
      const text = await fx.waitForMessages(2);
      assertStringIncludes(text, "message 1\n");
      const info = await Deno.stat(fx.mailbox);
      assertEquals([info.uid, info.gid], [fx.uid, fx.gid]);
      assertEquals(info.mode! & 0o777, 0o600);
      await fx.lockGone();
    } finally {
      await Deno.remove(spool, { recursive: true });
    }
  },
});

// In a spool anyone may write, a user can plant entries under another user's name: a link
// to the victim's ~/.profile, or a file of the planter's own (mode 0666) they can read.
// The victim's writer must write into neither, and the mail must wait in the queue.
Deno.test({
  name: "as root, mbox in a 1777 spool refuses a planted link or foreign file and keeps the mail",
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-sticky-spool-" });
    await Deno.chmod(dir, 0o755);
    const spool = `${dir}/spool`;
    await Deno.mkdir(spool);
    await Deno.chmod(spool, 0o1777);
    const tag = crypto.randomUUID().slice(0, 6);
    const [planter, bob, carol] = ["pl", "bo", "ca"].map((p) => `${p}${tag}`) as [
      string,
      string,
      string,
    ];
    const daemon = { stop: () => Promise.resolve() };
    try {
      for (const name of [planter, bob, carol]) await createUser(name, `${dir}/${name}`);
      const profile = `${dir}/${bob}/.profile`;
      await Deno.writeTextFile(profile, "export PATH=/bin\n");
      await run("chown", `${bob}:`, profile);
      await Deno.symlink(profile, `${spool}/${bob}`);
      await Deno.writeTextFile(`${spool}/${carol}`, "");
      await Deno.chmod(`${spool}/${carol}`, 0o666);
      await run("chown", "-h", `${planter}:`, `${spool}/${bob}`, `${spool}/${carol}`);

      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${port}\naction "m" mbox\n` +
          `match from any for domain "spool.test" action "m"\n`,
      );
      const logged = spawnLoggedDaemon(`${dir}/smtpd.conf`, { SMTPD_MAIL_SPOOL: spool });
      daemon.stop = async () => {
        logged.child.kill("SIGTERM");
        await logged.exited();
      };
      await waitListening(port);
      await sendMessage(port, {
        from: "me@client.test",
        to: [`${bob}@spool.test`, `${carol}@spool.test`, `${planter}@spool.test`],
        body: "Subject: spool\r\n\r\nmessage 1\r\n",
      });
      // The planter's own mailbox, missing before, is made and written as ever.
      await waitFor(`the message in ${spool}/${planter}\n${logged.log()}`, async () => {
        const text = await Deno.readTextFile(`${spool}/${planter}`).catch(() => "");
        return text.includes("message 1") || undefined;
      }, 30_000);
      const planterBox = await Deno.stat(`${spool}/${planter}`);
      assertEquals(planterBox.uid, Number(await run("id", "-u", planter)));
      assertEquals(planterBox.mode! & 0o777, 0o600);
      // Both stay queued, each with the reason it was refused, which is logged too.
      const refused = await waitFor(`both refusals in the queue\n${logged.log()}`, () => {
        const queued = queuedErrors(`${dir}/queue/queue.sqlite`);
        return queued.size === 2 && [...queued.values()].every((e) => e !== "")
          ? queued
          : undefined;
      }, 30_000);
      assertStringIncludes(
        refused.get(`${bob}@spool.test`)!,
        `Refusing mailbox "${spool}/${bob}": it is a symbolic link`,
      );
      assertStringIncludes(
        refused.get(`${carol}@spool.test`)!,
        `Refusing mailbox "${spool}/${carol}": wrong owner`,
      );
      assertStringIncludes(logged.log(), `Refusing mailbox "${spool}/${bob}"`);
      assertStringIncludes(logged.log(), `Refusing mailbox "${spool}/${carol}"`);
      assertEquals(await Deno.readTextFile(profile), "export PATH=/bin\n");
      assertEquals(await Deno.readTextFile(`${spool}/${carol}`), "");
    } finally {
      await daemon.stop();
      for (const name of [planter, bob, carol]) await removeUser(name);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// The envelopes waiting for another try: recipient and last error.
function queuedErrors(database: string): Map<string, string> {
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    const rows = db.prepare("SELECT rcpt, last_error FROM envelopes WHERE state = 'queued'").all();
    return new Map(rows.map((row) => [String(row.rcpt), String(row.last_error ?? "")]));
  } finally {
    db.close();
  }
}
