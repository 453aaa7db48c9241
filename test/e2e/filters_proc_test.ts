// proc-exec filters through the daemon: the smtpd-filters(7) line protocol with a real
// child process, the message streamed through it, its reject and junk decisions, the
// report events it is sent, and failing closed when it is killed mid-session.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import {
  echoFilterCommand,
  fixtureFilterCommand,
  scratchDir,
  startFilterFixture,
} from "./_filters.ts";

async function echoFixture() {
  const dir = await scratchDir();
  const events = `${dir}/events`;
  const command = await echoFilterCommand(dir, events);
  const fx = await startFilterFixture({
    dir,
    head: `filter "echo" proc-exec "${command}"`,
    listen: `filter "echo"`,
  });
  return { fx, events };
}

Deno.test("a proc-exec filter rewrites the message that gets queued, and sees the session's reports", async () => {
  const { fx, events } = await echoFixture();
  await using _ = fx;
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.startData("sender@client.test", ["alice@example.test"]);
  await client.sendRaw(
    "Subject: through the filter\r\n\r\n..a dotted line\r\nbody|with a bar\r\n.\r\n",
  );
  const reply = await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  const [text] = await fx.delivered("alice");
  assertStringIncludes(text!, "X-Echo-Filter: yes\nReceived: from client.test");
  assertStringIncludes(text!, "\n.a dotted line\nbody|with a bar\n");
  const msgid = reply.split(" ")[2]!;
  const seen = await waitFor("link-disconnect reported", async () => {
    const text = await Deno.readTextFile(events).catch(() => "");
    return text.includes("link-disconnect") ? text.trim().split("\n") : undefined;
  });
  const kinds = seen.map((l) => l.split("|")[0]);
  assertEquals(kinds.filter((k) => k !== "filter-response"), [
    "link-connect",
    "link-identify",
    "tx-begin",
    "tx-mail",
    "tx-rcpt",
    "tx-envelope",
    "tx-commit",
    "link-disconnect",
  ]);
  assertMatch(seen[0]!, /^link-connect\|[^|]*\|(pass|fail)\|127\.0\.0\.1:\d+\|127\.0\.0\.1:\d+$/);
  assertEquals(seen[1], "link-identify|EHLO|client.test");
  assertEquals(seen.find((l) => l.startsWith("tx-mail")), `tx-mail|${msgid}|ok|sender@client.test`);
  // tx-envelope names the envelope id the queue holds: the one in the Maildir file's name.
  const files = [...Deno.readDirSync(`${fx.dir}/mail/alice/Maildir/new`)].map((e) => e.name);
  const evpid = files[0]?.match(/Q([0-9a-f]{16})\./)?.[1];
  assertEquals(seen.find((l) => l.startsWith("tx-envelope")), `tx-envelope|${msgid}|${evpid}`);
  assertTrue(seen.includes("filter-response|rcpt-to|proceed"), seen.join("\n"));
  // As root, the filter runs as _smtpd (its /bin/sh and the script under it alike).
  const pid = fx.daemon.filterPid("echo")!;
  // /proc/PID belongs to the process's user (Deno lets only -A read /proc, so stat(1) asks).
  const owner = await new Deno.Command("stat", {
    args: ["-c", "%u", `/proc/${pid}`],
    stdout: "piped",
  })
    .output();
  const uid = new TextDecoder().decode(owner.stdout).trim();
  const passwd = await Deno.readTextFile("/etc/passwd");
  const smtpd = passwd.match(/^_smtpd:[^:]*:(\d+):/m)?.[1];
  assertEquals(uid, Deno.uid() === 0 ? smtpd : String(Deno.uid()));
});

Deno.test("a proc-exec filter's reject refuses the recipient and its junk marks the message", async () => {
  const { fx } = await echoFixture();
  await using _ = fx;
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<reject-me@example.test>");
  assertEquals(await client.reply(), "550 5.7.1 Refused by the echo filter");
  await client.send("RCPT TO:<junk@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: spam\r\n\r\nbuy\r\n.\r\n");
  await client.expect("250 ");
  const [text] = await fx.delivered("junk");
  assertTrue(
    text!.startsWith(
      "Return-Path: <sender@client.test>\nDelivered-To: junk@example.test\nX-Spam: yes\n",
    ),
    text,
  );
  const rejected = await Deno.readDir(`${fx.dir}/mail`);
  const users = [];
  for await (const entry of rejected) users.push(entry.name);
  assertEquals(users, ["junk"]);
});

Deno.test("a filter killed mid-session fails that session closed; once restarted, mail flows filtered again", async () => {
  const { fx } = await echoFixture();
  await using _ = fx;
  const first = await waitFor("the filter's pid", () => fx.daemon.filterPid("echo"));
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.startData("sender@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: never unfiltered\r\n\r\nbody\r\n");
  Deno.kill(first, "SIGKILL");
  await waitFor(
    "the filter to be seen dead",
    () => fx.log.some((l) => l.includes("filter echo: exited")) || undefined,
  );
  await client.sendRaw(".\r\n");
  assertEquals(await client.reply(), "451 4.3.0 Temporary failure: message filter unavailable");
  assertTrue(await client.closedByServer(), "the session ends");
  assertTrue(
    fx.log.some((l) => /session \w+ failed closed at data-line: filter "echo"/.test(l)),
    fx.log.join("\n"),
  );

  const second = await waitFor("the filter restarted", () => {
    const pid = fx.daemon.filterPid("echo");
    return pid !== undefined && pid !== first ? pid : undefined;
  });
  assertTrue(second !== first);
  await using again = await SmtpTestClient.connect(fx.port);
  await again.expect("220 ");
  await again.send("EHLO client.test");
  await again.expect("250 ");
  await again.startData("sender@client.test", ["alice@example.test"]);
  await again.sendRaw("Subject: after the restart\r\n\r\nbody\r\n.\r\n");
  await again.expect("250 ");
  const [text] = await fx.delivered("alice");
  assertStringIncludes(text!, "X-Echo-Filter: yes\n");
  assertStringIncludes(text!, "Subject: after the restart");
  assertEquals(
    (await fx.delivered("alice")).length,
    1,
    "the message of the killed session was not queued",
  );
});

Deno.test("a filter that cannot be started again fails closed every session, old and new, at the phases it had", async () => {
  const dir = await scratchDir();
  const echo = await echoFilterCommand(dir);
  // The first start runs the filter; every later one fails before it registers anything.
  const marks = `${dir}/marks`;
  await Deno.mkdir(marks, { mode: 0o777 });
  await Deno.chmod(marks, 0o777);
  await Deno.writeTextFile(
    `${dir}/once.sh`,
    `if [ -e ${marks}/started ]; then echo "cannot start" >&2; exit 1; fi\n` +
      `touch ${marks}/started\nexec ${echo}\n`,
  );
  await using fx = await startFilterFixture({
    dir,
    head: `filter "echo" proc-exec "/bin/sh ${dir}/once.sh"`,
    listen: `filter "echo"`,
  });
  const pid = await waitFor("the filter's pid", () => fx.daemon.filterPid("echo"));
  await using before = await SmtpTestClient.connect(fx.port);
  await before.expect("220 ");
  await before.send("EHLO client.test");
  await before.expect("250 ");
  Deno.kill(pid, "SIGKILL");
  await waitFor(
    "a restart that fails",
    () => fx.log.some((l) => l.includes("filter echo: cannot start")) || undefined,
  );
  const closed = "421 4.3.0 Temporary failure: filter unavailable, closing connection";
  // Open before the filter died: its recipient is refused, not let through unfiltered.
  await before.send("MAIL FROM:<sender@client.test>");
  await before.expect("250 ");
  await before.send("RCPT TO:<alice@example.test>");
  assertEquals(await before.reply(), closed);
  // Connected while the filter is down.
  await using after = await SmtpTestClient.connect(fx.port);
  await after.expect("220 ");
  await after.send("EHLO client.test");
  await after.expect("250 ");
  await after.send("MAIL FROM:<sender@client.test>");
  await after.expect("250 ");
  await after.send("RCPT TO:<alice@example.test>");
  assertEquals(await after.reply(), closed);
  assertEquals(await fx.delivered("alice").catch(() => []), []);
});

Deno.test("a proc-exec filter's rewrite of MAIL FROM and RCPT TO gets the command's own syntax check", async () => {
  const dir = await scratchDir();
  const command = await fixtureFilterCommand(dir, "rewrite_filter.py");
  await using fx = await startFilterFixture({
    dir,
    head: `filter "rewriter" proc-exec "${command}"`,
    listen: `filter "rewriter"`,
  });
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  // `rewrite|`: an empty path is no sender (OpenSMTPD's check refuses it alike), not <>.
  await client.send("MAIL FROM:<empty@client.test>");
  assertEquals(await client.reply(), "553 5.1.7 Sender address syntax error");
  // OpenSMTPD's form, the path in angle brackets, replaces the sender.
  await client.send("MAIL FROM:<angle@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<spaces@example.test>");
  assertEquals(await client.reply(), "501 5.1.3 Recipient address syntax error");
  await client.send("RCPT TO:<tobob@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: rewritten\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  // An explicit <> is the null path, which MAIL FROM takes.
  await client.startData("nullpath@client.test", ["tobob@example.test"]);
  await client.sendRaw("Subject: null sender\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  const texts = await fx.delivered("bob", 2);
  const rewritten = texts.find((t) => t.includes("Subject: rewritten"))!;
  assertTrue(rewritten.startsWith("Return-Path: <rewritten@client.test>\n"), rewritten);
  const nullSender = texts.find((t) => t.includes("Subject: null sender"))!;
  assertTrue(nullSender.startsWith("Return-Path: <>\n"), nullSender);
  const users = [];
  for await (const entry of Deno.readDir(`${fx.dir}/mail`)) users.push(entry.name);
  assertEquals(users, ["bob"]);
  for (const value of ["", "bad address with spaces@example.test"]) {
    assertTrue(
      fx.log.some((l) =>
        l.includes(`filter rewriter rewrote the argument to "${value}", which the command refuses`)
      ),
      fx.log.join("\n"),
    );
  }
  // A rewrite without its parameter is a broken filter: the session fails closed.
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<noparam@example.test>");
  assertEquals(
    await client.reply(),
    "421 4.3.0 Temporary failure: filter unavailable, closing connection",
  );
  assertTrue(await client.closedByServer(), "the session ends");
  assertTrue(
    fx.log.some((l) => l.includes("filter rewriter: protocol error: rewrite without a parameter")),
    fx.log.join("\n"),
  );
});
