// Local delivery through the real daemon, read back as a user would: Maildirs (with junk
// and sub-address folders), an mbox read by Python's mailbox module, an mda script that
// records its environment and input, an LMTP server, aliases (users, |commands, /files,
// :include:, error:, addresses elsewhere) and ~/.forward.
// As root, users are uid 4242 (deliveries run as them); otherwise the test's own uid.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  queueDrained,
  readMaildir,
  sendMessage,
  SmtpTestClient,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { startLmtpServer } from "../_lmtp_server.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const AS_ROOT = Deno.uid() === 0;
const IDS = AS_ROOT ? "4242:4242" : OWN_IDS;
const USERS = ["alice", "bob", "carol", "dan", "erin", "frank", "gina", "collector", "failer"];

interface Fixture {
  dir: string;
  port: number;
  lmtp: ReturnType<typeof startLmtpServer>;
  stop(): Promise<void>;
}

async function writeScript(path: string, body: string): Promise<void> {
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
}

async function startFixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-local-" });
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  const lmtp = startLmtpServer();
  for (const sub of ["records", "spool", "files", "bin", "home"]) {
    await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chmod(`${dir}/${sub}`, sub === "bin" || sub === "home" ? 0o755 : 0o1777);
  }
  for (const user of USERS) {
    await Deno.mkdir(`${dir}/home/${user}`, { mode: 0o755 });
    await Deno.chmod(`${dir}/home/${user}`, 0o755);
  }
  await Deno.mkdir(`${dir}/home/alice/Maildir/.work`, { recursive: true });
  // An mda that records its arguments, environment and input; `failer` fails for good.
  await writeScript(
    `${dir}/bin/record-mda`,
    `out="${dir}/records/mda-$1-$$"\nprintf '%s\\n' "$@" > "$out.args"\nenv > "$out.env"\ncat > "$out.in"\n` +
      `[ "$1" = failer ] && { echo "no such mailbox" >&2; exit 67; }\nexit 0`,
  );
  await writeScript(`${dir}/bin/record-pipe`, `cat > "${dir}/records/pipe-$$"`);
  await Deno.writeTextFile(`${dir}/list.txt`, "# the list\ncarol\nalice\n");
  await Deno.writeTextFile(
    `${dir}/aliases`,
    [
      "team: alice, bob",
      `pipe: "|${dir}/bin/record-pipe"`,
      `archive: ${dir}/files/archive.mbox`,
      `list: :include:${dir}/list.txt`,
      "closed: error:550 5.7.1 this list is closed",
      "busy: error:450 4.2.1 try again later",
      "external: someone@other.test",
      "",
    ].join("\n"),
  );
  // erin forwards to frank, keeps a copy, and pipes one; gina's .forward is unsafe.
  await Deno.writeTextFile(
    `${dir}/home/erin/.forward`,
    `\\erin\nfrank@maildir.test\n"|${dir}/bin/record-pipe"\n`,
  );
  await Deno.chmod(`${dir}/home/erin/.forward`, 0o600);
  await Deno.writeTextFile(`${dir}/home/gina/.forward`, "frank@maildir.test\n");
  await Deno.chmod(`${dir}/home/gina/.forward`, 0o666);
  if (AS_ROOT) {
    for (const user of USERS) {
      await new Deno.Command("chown", { args: ["-R", "4242:4242", `${dir}/home/${user}`] })
        .output();
    }
  }
  const users = USERS.map((u) => `${u} = "${IDS}:${dir}/home/${u}"`).join(", ");
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
table aliases file:${dir}/aliases
table users { ${users} }
action "maildir" maildir "${dir}/home/%{user.username}/Maildir" junk alias <aliases> userbase <users>
action "mbox" mbox userbase <users>
action "mda" mda "${dir}/bin/record-mda %{user.username} %{sender} %{sender.user} %{rcpt}" userbase <users>
action "lmtp" lmtp "127.0.0.1:${lmtp.port}" rcpt-to virtual { "@lmtp.test" = "dan" } userbase <users>
mda wrapper "tagged" "env WRAPPED=%{user.username} %{mda}"
action "wrapped" mda "${dir}/bin/record-mda %{user.username} w w w" wrapper "tagged" userbase <users>
action "forwarder" forward-only alias <aliases> userbase <users>
action "as-nobody" mda "id -u > ${dir}/records/user-%{user.username}" user nobody userbase <users>
action "outside" maildir "${dir}/home/collector/outside" virtual { "@other.test" = "collector" } userbase <users>
match from any for domain "maildir.test" action "maildir"
match from any for domain "mbox.test" action "mbox"
match from any for domain "mda.test" action "mda"
match from any for domain "lmtp.test" action "lmtp"
match from any for domain "other.test" action "outside"
match from any for domain "wrapped.test" action "wrapped"
match from any for domain "forward.test" action "forwarder"
match from any for domain "nobody.test" action "as-nobody"
`,
  );
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", `${dir}/smtpd.conf`],
    env: { SMTPD_MAIL_SPOOL: `${dir}/spool` },
    stdout: "null",
    // SMTPD_TEST_LOG=1 shows the daemon's log while debugging a test.
    stderr: Deno.env.get("SMTPD_TEST_LOG") ? "inherit" : "null",
  }).spawn();
  await waitListening(port);
  return {
    dir,
    port,
    lmtp,
    async stop() {
      daemon.kill("SIGTERM");
      await daemon.status;
      await lmtp.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function send(port: number, to: string, body: string, from = "sender@client.test") {
  return sendMessage(port, { from, to: [to], body });
}

async function records(dir: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dir}/records`)) {
    if (e.name.startsWith(prefix)) names.push(e.name);
  }
  return names.sort();
}

Deno.test("maildir: inbox, junk folder, sub-address folder, aliases, includes, .forward", async () => {
  const f = await startFixture();
  try {
    const home = (u: string) => `${f.dir}/home/${u}/Maildir`;
    await send(f.port, "alice@maildir.test", "Subject: plain\n\nhello alice\n");
    await send(f.port, "alice@maildir.test", "Subject: spam\nX-Spam: yes\n\nbuy now\n");
    await send(f.port, "alice+work@maildir.test", "Subject: tagged\n\nfor work\n");
    await send(f.port, "team@maildir.test", "Subject: to the team\n\nhi all\n");
    await send(f.port, "list@maildir.test", "Subject: via include\n\nlisted\n");
    await send(f.port, "pipe@maildir.test", "Subject: piped\n\nto a command\n");
    await send(f.port, "archive@maildir.test", "Subject: archived\n\nto a file\n");
    await send(f.port, "external@maildir.test", "Subject: sent on\n\nelsewhere\n");
    await send(f.port, "erin@maildir.test", "Subject: forwarded\n\nerin's mail\n");
    await send(f.port, "gina@maildir.test", "Subject: unsafe forward\n\ngina's mail\n");

    const subjects = async (path: string) =>
      (await readMaildir(path)).map((m) => /Subject: (.*)/.exec(m.text)?.[1]).sort();
    await waitFor("every delivery", async () =>
      (await subjects(home("alice"))).length === 3 &&
        (await subjects(home("frank"))).length === 1 &&
        // Each copy of a message may land in its own time: wait for every mailbox.
        (await Promise.all(["bob", "carol", "erin", "gina"].map((u) => subjects(home(u)))))
          .every((s) => s.length === 1) &&
        (await records(f.dir, "pipe-")).length === 2 &&
        (await readMaildir(`${f.dir}/home/collector/outside`)).length === 1 &&
        // The file exists from its open on: the message is there once its blank line is.
        (await Deno.readTextFile(`${f.dir}/files/archive.mbox`).catch(() => "")).endsWith("\n\n") ||
      undefined);
    assertEquals(await subjects(home("alice")), ["plain", "to the team", "via include"]);
    assertEquals(await subjects(`${home("alice")}/.Junk`), ["spam"]);
    assertEquals(await subjects(`${home("alice")}/.work`), ["tagged"]);
    assertEquals(await subjects(home("bob")), ["to the team"]);
    assertEquals(await subjects(home("carol")), ["via include"]);
    // erin keeps a copy, forwards one to frank, pipes one; gina's unsafe .forward is ignored.
    assertEquals(await subjects(home("erin")), ["forwarded"]);
    assertEquals(await subjects(home("frank")), ["forwarded"]);
    assertEquals(await subjects(home("gina")), ["unsafe forward"]);
    const piped = await Promise.all(
      (await records(f.dir, "pipe-")).map((n) => Deno.readTextFile(`${f.dir}/records/${n}`)),
    );
    assertEquals(piped.map((t) => /Subject: (.*)/.exec(t)?.[1]).sort(), ["forwarded", "piped"]);
    const [outside] = await readMaildir(`${f.dir}/home/collector/outside`);
    assertStringIncludes(outside!.text, "Subject: sent on");
    const archive = await Deno.readTextFile(`${f.dir}/files/archive.mbox`);
    assertMatch(archive, /^From sender@client\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
    assertStringIncludes(archive, "Subject: archived");
    // A delivery is written by the user it is for.
    const [file] = await readMaildir(home("bob"));
    const info = await Deno.stat(`${home("bob")}/new/${file!.name}`);
    assertEquals(`${info.uid}:${info.gid}`, IDS);
  } finally {
    await f.stop();
  }
});

Deno.test("aliases: error: entries answer at RCPT with their own code", async () => {
  const f = await startFixture();
  try {
    await using client = await SmtpTestClient.connect(f.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.send("MAIL FROM:<sender@client.test>");
    await client.expect("250 ");
    await client.send("RCPT TO:<closed@maildir.test>");
    assertEquals(await client.expect("550 "), "550 5.7.1 this list is closed");
    await client.send("RCPT TO:<busy@maildir.test>");
    assertEquals(await client.expect("450 "), "450 4.2.1 try again later");
    await client.send("RCPT TO:<nobody-here@maildir.test>");
    await client.expect("550 ");
  } finally {
    await f.stop();
  }
});

Deno.test("mbox: From_ lines, >From quoting, read back by Python's mailbox module", async () => {
  const f = await startFixture();
  try {
    await send(
      f.port,
      "bob@mbox.test",
      "Subject: first\n\nFrom here on, quoted.\n>From there too.\n",
    );
    const path = `${f.dir}/spool/bob`;
    const messagesIn = (count: number) => async () => {
      try {
        return (await Deno.readTextFile(path)).match(/^From /gm)?.length === count || undefined;
      } catch {
        return undefined;
      }
    };
    // Two queued messages may be delivered in either order: the second is sent once the
    // first is in the mailbox, so the order the assertions read is the order sent.
    await waitFor("the first message in the mbox", messagesIn(1));
    await send(f.port, "bob@mbox.test", "Subject: second\n\nsecond body\n", "");
    await waitFor("two messages in the mbox", messagesIn(2));
    const raw = await Deno.readTextFile(path);
    assertStringIncludes(raw, "\n>From here on, quoted.\n>>From there too.\n");
    assertStringIncludes(raw, "\nFrom MAILER-DAEMON ");
    // The mailbox shows both messages before the writer lets go of its lock.
    await queueDrained(f.dir);
    assertTrue(!(await exists(`${path}.lock`)), "the dot-lock is gone");
    const script = [
      "import mailbox, sys, json",
      "box = mailbox.mbox(sys.argv[1])",
      "print(json.dumps([[m['Subject'], m['Delivered-To'], m.get_payload()] for m in box]))",
    ].join("\n");
    const out = await new Deno.Command("python3", { args: ["-c", script, path], stdout: "piped" })
      .output();
    const parsed = JSON.parse(new TextDecoder().decode(out.stdout)) as string[][];
    assertEquals(parsed.map((m) => m[0]), ["first", "second"]);
    assertEquals(parsed[0]![1], "bob@mbox.test");
    assertStringIncludes(parsed[0]![2]!, ">From here on, quoted.");
    const info = await Deno.stat(path);
    assertEquals(`${info.uid}:${info.gid}`, IDS);
    assertEquals(info.mode! & 0o777, 0o600);
  } finally {
    await f.stop();
  }
});

Deno.test("mda: the command gets OpenSMTPD's environment and the message; failures bounce", async () => {
  const f = await startFixture();
  try {
    await send(f.port, "carol+news@mda.test", "Subject: to an mda\n\nline one\r\nline two\n");
    await send(f.port, "failer@mda.test", "Subject: refused\n\nx\n", "carol@maildir.test");
    await waitFor(
      "the mda runs",
      async () => (await records(f.dir, "mda-carol")).length >= 3 || undefined,
    );
    await queueDrained(f.dir);
    const base = (await records(f.dir, "mda-carol"))[0]!.replace(/\.\w+$/, "");
    const env = Object.fromEntries(
      (await Deno.readTextFile(`${f.dir}/records/${base}.env`)).trim().split("\n").map((l) => {
        const eq = l.indexOf("=");
        return [l.slice(0, eq), l.slice(eq + 1)];
      }),
    );
    assertEquals(env["RECIPIENT"], "carol+news@mda.test");
    assertEquals(env["ORIGINAL_RECIPIENT"], "carol+news@mda.test");
    assertEquals(env["DOMAIN"], "mda.test");
    assertEquals(env["LOCAL"], "carol+news");
    assertEquals(env["USER"], "carol");
    assertEquals(env["LOGNAME"], "carol");
    assertEquals(env["HOME"], `${f.dir}/home/carol`);
    assertEquals(env["SENDER"], "sender@client.test");
    assertEquals(env["EXTENSION"], "news");
    assertEquals(env["SHELL"], "/bin/sh");
    assertTrue(env["SMTPD_MAIL_SPOOL"] === undefined, "the daemon's environment does not leak");
    const input = await Deno.readTextFile(`${f.dir}/records/${base}.in`);
    assertMatch(
      input,
      /^Return-Path: <sender@client\.test>\nDelivered-To: carol\+news@mda\.test\n/,
    );
    assertStringIncludes(input, "line one\nline two\n");
    assertTrue(!input.includes("\r"), "LF line ends");
    assertEquals(
      (await Deno.readTextFile(`${f.dir}/records/${base}.args`)).split("\n").slice(0, 4),
      ["carol", "sender@client.test", "sender", "carol+news@mda.test"],
    );
    // exit 67 with a reason on stderr: a failure report to the sender, carrying it.
    const bounce = await waitFor("the failure report", async () => {
      const found = await readMaildir(`${f.dir}/home/carol/Maildir`);
      return found.find((m) => m.text.includes("Delivery status notification: failed"));
    });
    assertStringIncludes(bounce.text, "mda exited with status 67: no such mailbox");
  } finally {
    await f.stop();
  }
});

Deno.test("mda: hostile addresses never reach a shell with meaning", async () => {
  const f = await startFixture();
  const canary = `${f.dir}/records/CANARY`;
  const hostile = [
    `";touch ${canary};"`,
    `"$(touch ${canary})"`,
    `"\`touch ${canary}\`"`,
    `"a|touch ${canary}"`,
    `"a&touch ${canary}&"`,
    `"a>${canary}"`,
    `"a<${canary}"`,
    `"a;id"`,
    `"a'b"`,
    `"a\\"b"`,
    `"a\\\\b"`,
    `"{a,b}"`,
    `"*"`,
    `"a?b"`,
    `"~root"`,
    `"a#b"`,
    `"a!b"`,
    `"a%b"`,
    `"a(b)"`,
    `"a[b]"`,
    `"a b"`,
    `"-oProxyCommand=touch"`,
    `"a$IFS$9b"`,
  ];
  try {
    let accepted = 0;
    for (const local of hostile) {
      // As sender and as recipient: both reach the command line.
      for (
        const [from, to] of [[`${local}@client.test`, "dan@mda.test"], [
          "x@client.test",
          `${local}@mda.test`,
        ]]
      ) {
        await using client = await SmtpTestClient.connect(f.port);
        await client.expect("220 ");
        await client.send("EHLO client.test");
        await client.expect("250 ");
        await client.send(`MAIL FROM:<${from}>`);
        if (!(await client.reply()).startsWith("250")) continue;
        await client.send(`RCPT TO:<${to}>`);
        if (!(await client.reply()).startsWith("250")) continue;
        await client.send("DATA");
        await client.expect("354 ");
        await client.sendRaw("Subject: hostile\r\n\r\nx\r\n.\r\n");
        await client.expect("250 ");
        accepted++;
      }
    }
    assertTrue(accepted >= 20, `${accepted} hostile messages accepted`);
    await waitFor(
      "every hostile message through the mda",
      async () =>
        (await records(f.dir, "mda-")).filter((n) => n.endsWith(".args")).length >= accepted ||
        undefined,
    );
    await queueDrained(f.dir);
    assertTrue(!(await exists(canary)), "no command ran from an address");
    for (const name of (await records(f.dir, "mda-")).filter((n) => n.endsWith(".args"))) {
      const args = (await Deno.readTextFile(`${f.dir}/records/${name}`)).trim().split("\n");
      assertEquals(args.length, 4, `one argument per token: ${args.join(" | ")}`);
      for (const arg of args) assertMatch(arg, /^[\p{L}\p{N}@._+=,:\/_-]*$/u);
    }
  } finally {
    await f.stop();
  }
});

Deno.test("lmtp: one transaction per recipient, replies mapped back to the envelope", async () => {
  const f = await startFixture();
  try {
    await send(f.port, "dan@lmtp.test", "Subject: over lmtp\n\n..leading dot\n");
    await send(
      f.port,
      "late@lmtp.test",
      "Subject: refused after data\n\nx\n",
      "carol@maildir.test",
    );
    await waitFor("two transactions", () => f.lmtp.transactions.length === 2 || undefined);
    const tx = f.lmtp.transactions.find((t) => t.rcpts[0] === "dan@lmtp.test");
    assertTrue(tx, "dan's transaction");
    assertEquals(tx.from, "sender@client.test");
    assertStringIncludes(tx.data, "Subject: over lmtp\r\n");
    assertStringIncludes(tx.data, "\r\n.leading dot\r\n");
    const bounce = await waitFor("the failure report for late@", async () => {
      const found = await readMaildir(`${f.dir}/home/carol/Maildir`);
      return found.find((m) => m.text.includes("Final-Recipient: rfc822; late@lmtp.test"));
    });
    assertStringIncludes(bounce.text, "554 5.6.0 rejected after data");
  } finally {
    await f.stop();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("mda wrapper runs the command through it; forward-only takes no local mail", async () => {
  const f = await startFixture();
  try {
    // `user nobody`: the delivery runs as that account (as root), whoever the recipient is.
    await send(f.port, "gina@nobody.test", "Subject: as nobody\n\nx\n");
    const uid = await waitFor(
      "the user-option mda",
      () =>
        Deno.readTextFile(`${f.dir}/records/user-gina`).then((t) => t.trim() || undefined)
          .catch(() => undefined),
    );
    assertEquals(uid, AS_ROOT ? "65534" : String(Deno.uid()));
    await send(f.port, "frank@wrapped.test", "Subject: wrapped\n\nx\n");
    await send(f.port, "external@forward.test", "Subject: forwarded only\n\nx\n");
    // A local user the mail would stay with is refused at RCPT (OpenSMTPD's 424), not bounced.
    {
      await using client = await SmtpTestClient.connect(f.port);
      await client.expect("220 ");
      await client.send("EHLO client.test");
      await client.expect("250 ");
      await client.send("MAIL FROM:<carol@maildir.test>");
      await client.expect("250 ");
      await client.send("RCPT TO:<alice@forward.test>");
      assertEquals(
        await client.reply(),
        "424 4.2.4 Mailing list expansion problem: <alice@forward.test>",
      );
    }
    await waitFor(
      "the wrapped mda",
      async () => (await records(f.dir, "mda-frank")).some((n) => n.endsWith(".env")) || undefined,
    );
    await queueDrained(f.dir);
    const env = (await records(f.dir, "mda-frank")).find((n) => n.endsWith(".env"))!;
    assertStringIncludes(await Deno.readTextFile(`${f.dir}/records/${env}`), "WRAPPED=frank\n");
    const [outside] = await waitFor("the forward", async () => {
      const found = await readMaildir(`${f.dir}/home/collector/outside`);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(outside!.text, "Subject: forwarded only");
  } finally {
    await f.stop();
  }
});
