// mbox delivery into the system's mail spool, by a root daemon, as the mailbox's user: a
// Debian spool (/var/mail, root:mail 2775) is entered with group mail, as mail.local and
// dotlockfile do; a spool only root may write has the mailbox created for the user by the
// daemon. Each mailbox ends up the user's own, mode 0600, its dot-lock gone. Skipped, with
// the reason printed, when the tests do not run as root.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { createUser, removeUser } from "../_users.ts";
import { freePort, sendMessage, spawnLoggedDaemon, waitFor, waitListening } from "../_helpers.ts";

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
