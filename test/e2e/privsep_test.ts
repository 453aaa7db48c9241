// Started as root the way an operator starts it, the daemon is a privileged parent and an
// SMTP front running as _smtpd: /proc shows the front's uid and name, AUTH against a
// system account still works (through the parent), mail lands owned by its users, and
// the queue ends up 0700/0600 and the front's. Skipped, with the reason printed, when not
// root or without setpriv.

import { MAILBOX_WRITER_ROLE, SMTP_FRONT_ROLE } from "../../src/privsep/mod.ts";
import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import {
  freePort,
  readMaildir,
  sendMessage,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import {
  accountIds,
  childrenOf,
  ensureFrontUser,
  frontOf,
  makeUser,
  openOn,
  removeUser,
  skipReason,
} from "./_privsep.ts";
import { smtpctlJson, smtpctlOk } from "./_smtpctl.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const PASSWORD = "s3cret-privsep";

/** The gid of a group, from /etc/group. */
async function groupId(name: string): Promise<number> {
  for (const line of (await Deno.readTextFile("/etc/group")).split("\n")) {
    const [group, , gid] = line.split(":");
    if (group === name) return Number(gid);
  }
  throw new Error(`no group "${name}"`);
}

/** Text of a /proc file (read by cat: Deno asks for every permission to read /proc). */
async function readProc(path: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("as root, the SMTP front runs as _smtpd, AUTH goes through the parent, mail lands as its user", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation test: ${skip}`);
    return;
  }
  const certificate = await testCertificate("localhost");
  if (!certificate) {
    console.log("skipped: privilege separation test: openssl is not installed");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-" });
  await Deno.chmod(dir, 0o755);
  const user = await makeUser(dir, PASSWORD);
  let daemon: Deno.ChildProcess | undefined;
  try {
    const front = await accountIds("_smtpd");
    const ids = await accountIds(user);
    await Deno.writeTextFile(`${dir}/cert.pem`, certificate.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, certificate.key);
    // A queue left with the umask's modes: the start makes it private and the front's.
    await Deno.mkdir(`${dir}/queue`);
    await Deno.chmod(`${dir}/queue`, 0o755);
    await Deno.writeFile(`${dir}/queue/queue.sqlite`, new Uint8Array(0), { mode: 0o644 });
    await Deno.chmod(`${dir}/queue/queue.sqlite`, 0o644);
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `pki localhost cert "${dir}/cert.pem"
pki localhost key "${dir}/key.pem"
queue path "${dir}/queue"
control socket "${dir}/ctl.sock"
listen on 127.0.0.1 port ${port} tls pki localhost auth-optional
action "maildir" maildir
action "mda" mda "id -u > ~/mda-ids; id -g >> ~/mda-ids"
action "mbox" mbox
match from any for domain "maildir.test" action "maildir"
match from any for domain "mda.test" action "mda"
match from any for domain "mbox.test" action "mbox"
`,
    );
    // A Maildir++ folder the user made: the parent's writer, as the user, finds it.
    for (const sub of ["new", "cur", "tmp"]) {
      await Deno.mkdir(`${dir}/${user}/Maildir/.lists/${sub}`, { recursive: true });
    }
    for (
      const path of [
        "Maildir",
        "Maildir/.lists",
        ...["new", "cur", "tmp"].map((d) => `Maildir/.lists/${d}`),
      ]
    ) {
      await Deno.chown(`${dir}/${user}/${path}`, ids.uid, ids.gid);
    }
    // A spool with Debian's modes (root:mail 2775): the parent enters it with group mail.
    const mailGroup = await groupId("mail");
    await Deno.mkdir(`${dir}/spool`);
    await Deno.chown(`${dir}/spool`, 0, mailGroup);
    await Deno.chmod(`${dir}/spool`, 0o2775);
    daemon = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-d", "-f", `${dir}/smtpd.conf`],
      env: { SMTPD_MAIL_SPOOL: `${dir}/spool` },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reading = daemon.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (log += chunk) }),
    );
    await waitListening(port, 60_000);

    // The front: a child of the parent, named by its role, running as _smtpd.
    const pid = await waitFor("the SMTP front", () => frontOf(daemon!.pid));
    const status = await readProc(`/proc/${pid}/status`);
    const uids = /\nUid:\t(\d+)\t(\d+)\t(\d+)\t(\d+)\n/.exec(status)!.slice(1).map(Number);
    assertEquals(uids, [front.uid, front.uid, front.uid, front.uid]);
    assertTrue(!uids.includes(0), "the front must not keep root in any uid");
    const argv0 = (await readProc(`/proc/${pid}/cmdline`)).split("\0")[0];
    assertEquals(argv0, SMTP_FRONT_ROLE);
    // The parent logs it once the front reports ready over IPC, which may come after the
    // front's port already answers.
    const running = `privsep: SMTP front running as _smtpd (pid ${pid})`;
    await waitFor("the parent's log of the front", () => log.includes(running) || undefined);
    assertStringIncludes(log, running);
    // The channel is the socket the parent offered, not the front's standard streams.
    assertEquals([await openOn(pid, 0), await openOn(pid, 1)], ["/dev/null", "/dev/null"]);
    // The parent logs text lines to its standard error: the front writes its own there too,
    // rather than through a pipe the parent reads and writes out again.
    assertEquals(await openOn(pid, 2), await openOn(daemon.pid, 2));

    // The parent names the front's socket as `control socket` says; smtpctl goes by it,
    // and the front's trace lines come out through the parent's log.
    const link = await waitFor(
      "the socket's name",
      () => Deno.readLink(`${dir}/ctl.sock`).catch(() => undefined),
    );
    assertEquals(link, `${dir}/queue-offline/smtpd.sock`);
    assertEquals(await smtpctlOk(`${dir}/smtpd.conf`, ["trace", "smtp"]), "command succeeded\n");

    let sent = 0;
    // AUTH PLAIN against the account's /etc/shadow entry, which only the parent can read.
    {
      await using client = await SmtpTestClient.connect(port);
      await client.expect("220 ");
      await client.send("EHLO client.test");
      await client.expect("250 ");
      await client.send("STARTTLS");
      await client.expect("220 ");
      await client.startTls({ hostname: "localhost", caCerts: [certificate.ca] });
      await client.send("EHLO client.test");
      await client.expect("250 ");
      await client.send(`AUTH PLAIN ${btoa(`\0${user}\0wrong`)}`);
      await client.expect("535 ");
      await client.send(`AUTH PLAIN ${btoa(`\0${user}\0${PASSWORD}`)}`);
      await client.expect("235 ");
      for (const rcpt of ["maildir.test", "mda.test", "mbox.test", "maildir.test"]) {
        // The last one, user+lists, goes into the .lists folder the user made.
        const to = rcpt === "maildir.test" && sent++ > 0
          ? `${user}+lists@${rcpt}`
          : `${user}@${rcpt}`;
        await client.startData("sender@client.test", [to]);
        await client.sendRaw(`Subject: for ${user}\r\n\r\n8-bit \xe9 body\r\n.\r\n`);
        await client.expect("250 ");
      }
      await client.send("QUIT");
      await client.expect("221 ");
    }
    await waitFor(
      "the front's trace lines",
      () => / debug: smtp: [0-9a-f]{16}: <<< EHLO client\.test\n/.test(log) || undefined,
    );
    // AUTH's secret is never traced.
    assertTrue(!log.includes(btoa(`\0${user}\0${PASSWORD}`)), "the password is not logged");

    // Each delivery was made by a child running as the user.
    const [mail] = await waitFor("the Maildir delivery", async () => {
      const found = await readMaildir(`${dir}/${user}/Maildir`);
      return found.length > 0 ? found : undefined;
    }, 60_000);
    const [listed] = await waitFor("the sub-address folder delivery", async () => {
      const found = await readMaildir(`${dir}/${user}/Maildir/.lists`);
      return found.length > 0 ? found : undefined;
    }, 60_000);
    assertStringIncludes(listed!.text, `Delivered-To: ${user}+lists@maildir.test`);
    assertEquals((await readMaildir(`${dir}/${user}/Maildir`)).length, 1);
    // The parent's mailbox writers (one per uid and gid: the mbox one has group mail) are
    // named by their role and run as the user.
    const writers = (await childrenOf(daemon.pid)).filter((c) => c.name === MAILBOX_WRITER_ROLE);
    assertTrue(writers.length > 0, "a mailbox writer is running");
    assertEquals([...new Set(writers.map((w) => w.user))], [user]);
    const file = await Deno.stat(`${dir}/${user}/Maildir/new/${mail!.name}`);
    assertEquals([file.uid, file.gid], [ids.uid, ids.gid]);
    assertStringIncludes(mail!.text, `Subject: for ${user}`);
    const mdaIds = await waitFor(
      "the mda delivery",
      () =>
        Deno.readTextFile(`${dir}/${user}/mda-ids`).then((t) =>
          t.split("\n").length > 2 ? t : undefined
        )
          .catch(() => undefined),
      60_000,
    );
    assertEquals(mdaIds.trim().split("\n").map(Number), [ids.uid, ids.gid]);
    const mdaFile = await Deno.stat(`${dir}/${user}/mda-ids`);
    assertEquals([mdaFile.uid, mdaFile.gid], [ids.uid, ids.gid]);

    const mbox = await waitFor(
      "the mbox delivery",
      () =>
        Deno.readTextFile(`${dir}/spool/${user}`).then((t) => t.includes("8-bit") ? t : undefined)
          .catch(() => undefined),
      60_000,
    );
    assertStringIncludes(mbox, `Subject: for ${user}`);
    const mboxFile = await Deno.stat(`${dir}/spool/${user}`);
    assertEquals(mboxFile.uid, ids.uid);

    // The queue is the front's alone: 0700, every file 0600, and the start said what it fixed.
    const queue = await Deno.stat(`${dir}/queue`);
    assertEquals([queue.uid, (queue.mode ?? 0) & 0o7777], [front.uid, 0o700]);
    const files: string[] = [];
    for await (const entry of Deno.readDir(`${dir}/queue`)) {
      const info = await Deno.lstat(`${dir}/queue/${entry.name}`);
      if (!info.isFile) continue;
      files.push(entry.name);
      assertEquals([entry.name, info.uid, info.gid, (info.mode ?? 0) & 0o7777], [
        entry.name,
        front.uid,
        front.gid,
        0o600,
      ]);
    }
    assertTrue(files.includes("queue.sqlite") && files.includes("queue.sqlite-wal"), `${files}`);
    assertStringIncludes(log, `queue: ${dir}/queue had mode 0755: now 0700`);
    assertStringIncludes(log, `queue: ${dir}/queue/queue.sqlite had mode 0644: now 0600`);

    daemon.kill("SIGTERM");
    assertEquals((await daemon.status).code, 0);
    daemon = undefined;
    await reading;
    assertEquals(await readProc(`/proc/${pid}/status`), "", "the front has stopped");
    assertEquals(await Deno.lstat(`${dir}/ctl.sock`).catch(() => undefined), undefined);
  } finally {
    if (daemon) {
      daemon.kill("SIGKILL");
      await daemon.status;
    }
    await removeUser(user);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("separated, an encrypted queue takes its key from the parent's standard input", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation queue key test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-key-" });
  await Deno.chmod(dir, 0o755);
  const user = await makeUser(dir, PASSWORD);
  let daemon: Deno.ChildProcess | undefined;
  try {
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"\nqueue encryption stdin\nlisten on 127.0.0.1 port ${port}\n` +
        `action "maildir" maildir\nmatch from any for domain "maildir.test" action "maildir"\n`,
    );
    daemon = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-d", "-f", `${dir}/smtpd.conf`],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const stdin = daemon.stdin.getWriter();
    // One line, and the pipe left open: the parent starts on the line alone.
    await stdin.write(new TextEncoder().encode(`${"ab".repeat(32)}\n`));
    await waitListening(port, 60_000);
    await stdin.close();
    await sendMessage(port, {
      from: "sender@client.test",
      to: [`${user}@maildir.test`],
      body: "Subject: sealed\n\nsecret words\n",
    });
    const [mail] = await waitFor("the delivery", async () => {
      const found = await readMaildir(`${dir}/${user}/Maildir`);
      return found.length > 0 ? found : undefined;
    }, 60_000);
    assertStringIncludes(mail!.text, "secret words");
  } finally {
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.status;
    }
    await removeUser(user);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the parent refuses to start without its front's user, naming the command that makes it", async () => {
  const skip = skipReason();
  if (skip) {
    console.log(`skipped: privilege separation start test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-nouser-" });
  try {
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${freePort()}\n` +
        `action "a" maildir\nmatch for local action "a"\n`,
    );
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-d", "-u", "smtpd-no-such-user", "-f", `${dir}/smtpd.conf`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(result.code, 1);
    assertStringIncludes(
      new TextDecoder().decode(result.stderr),
      `the SMTP front's user "smtpd-no-such-user" does not exist: create it with`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("separated, a virtual user's relative maildir lands under its userbase home, which the front cannot read", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privsep userbase home test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-home-" });
  await Deno.chmod(dir, 0o755);
  const { uid, gid } = await accountIds("nobody");
  const home = `${dir}/vmail`;
  await Deno.mkdir(home, { mode: 0o700 });
  await Deno.chown(home, uid, gid);
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${uid}:${gid}:${home}" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, {}, { separated: true });
  try {
    await waitListening(port, 60_000);
    await sendMessage(port, {
      from: "a@client.test",
      to: ["Alice@example.test"],
      body: "Subject: hi\n\nhi\n",
    });
    const delivered = await waitFor("the message in the Maildir under the home", () => {
      if (/result=TempFail/.test(daemon.log())) throw new Error(daemon.log());
      try {
        const names = [...Deno.readDirSync(`${home}/mail/alice/Maildir/new`)];
        return names.length === 1 ? names[0]!.name : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    const info = await Deno.stat(`${home}/mail/alice/Maildir/new/${delivered}`);
    assertEquals([info.uid, info.gid], [uid, gid]);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});

// A userbase home that does not exist: OpenSMTPD would deliver from "/", and one Maildir
// there would mix such users' mail, so the delivery fails for good. Separated, the front
// cannot tell a missing home from one it may not read: the writer, as the user, tells.
for (const separated of [true, false]) {
  const mode = separated ? "separated" : "not separated (-u root)";
  Deno.test(`${mode}, a virtual user's relative maildir under a missing userbase home bounces at once`, async () => {
    const skip = skipReason() ?? await ensureFrontUser();
    if (skip) {
      console.log(`skipped: privsep missing home test: ${skip}`);
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-nohome-" });
    await Deno.chmod(dir, 0o755);
    const { uid, gid } = await accountIds("nobody");
    const home = `${dir}/vmail`;
    const missing = `${dir}/missing`;
    await Deno.mkdir(home, { mode: 0o700 });
    await Deno.chown(home, uid, gid);
    const port = freePort();
    const conf = `${dir}/smtpd.conf`;
    // The report for alice@ goes to postmaster@, whose home exists.
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "mail/%{rcpt.user:lowercase}/Maildir" virtual { "postmaster@example.test" = "vmail", "@example.test" = "ghost" } userbase { vmail = "${uid}:${gid}:${home}", ghost = "${uid}:${gid}:${missing}" }
match from any for domain "example.test" action "local"
`,
    );
    const daemon = spawnLoggedDaemon(conf, {}, { separated });
    try {
      await waitListening(port, 60_000);
      await sendMessage(port, {
        from: "postmaster@example.test",
        to: ["Alice@example.test"],
        body: "Subject: to a ghost\n\nhi\n",
      });
      const reason = `user "ghost" has no home directory "${missing}" for maildir ` +
        `"mail/alice/Maildir"`;
      const result = await waitFor("alice@'s delivery result", () => {
        const line = / rcpt=<Alice@example\.test> .* result=(\w+) stat=(.*)/.exec(daemon.log());
        return line ? { result: line[1], stat: line[2] } : undefined;
      }, 60_000);
      assertEquals(result.result, "PermFail", daemon.log());
      assertEquals(result.stat, reason); // the same status text in both modes
      const bounce = await waitFor("the failure report for alice@", () => {
        try {
          const inbox = `${home}/mail/postmaster/Maildir/new`;
          const names = [...Deno.readDirSync(inbox)];
          return names.length === 1
            ? Deno.readTextFileSync(`${inbox}/${names[0]!.name}`)
            : undefined;
        } catch {
          return undefined;
        }
      }, 60_000);
      assertStringIncludes(bounce, "Delivery status notification: failed");
      assertStringIncludes(bounce, reason);
      assertEquals(daemon.log().match(/result=TempFail/g), null, daemon.log());
      assertEquals(await exists(missing), false);
      // Nothing left to retry: alice@'s envelope failed, and the report was delivered.
      await waitFor("an empty queue", async () => {
        const queue = await smtpctlJson<{ envelopes: unknown[] }>(conf, ["show", "queue"]);
        return queue.envelopes.length === 0 || undefined;
      }, 60_000);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
