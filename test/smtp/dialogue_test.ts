// Raw SMTP conversations with a listener: every reply code of the session, on the wire.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { contentText, startDialogueServer } from "./_server.ts";

Deno.test("EHLO lists the extensions, HELO answers one line", async () => {
  await using server = await startDialogueServer();
  await using client = await server.connect();
  assertEquals(await client.reply(), "220 mx.example.test ESMTP OpenSMTPD");
  await client.send("EHLO client.test");
  assertEquals(
    await client.reply(),
    [
      "250-mx.example.test Hello client.test [127.0.0.1], pleased to meet you",
      "250-8BITMIME",
      "250-ENHANCEDSTATUSCODES",
      `250-SIZE ${35 * 1024 * 1024}`,
      "250-PIPELINING",
      "250-DSN",
      "250-SMTPUTF8",
      "250-CHUNKING",
      "250 HELP",
    ].join("\r\n"),
  );
  await client.send("HELO client.test");
  assertEquals(
    await client.reply(),
    "250 mx.example.test Hello client.test [127.0.0.1], pleased to meet you",
  );
});

Deno.test("HELO with a name beyond ASCII is greeted in printable ASCII", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("HELO caf\u00e9.test");
  // What invalid UTF-8 in a fuzzed name decodes to.
  await client.send("HELO x\ufffd.test");
  assertEquals(
    await client.reply(),
    "250 mx.example.test Hello caf?.test [127.0.0.1], pleased to meet you",
  );
  assertEquals(
    await client.reply(),
    "250 mx.example.test Hello x?.test [127.0.0.1], pleased to meet you",
  );
});

Deno.test("HELO with a name longer than 255 octets is refused", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  const name = Array.from({ length: 70 }, () => "abc").join(".");
  await client.send(`HELO ${name}`);
  assertEquals(await client.reply(), "501 5.5.4 Syntax: EHLO/HELO domain");
  await client.send(`HELO ${name.slice(0, 255)}`);
  await client.expect("250 ");
});
Deno.test("a whole transaction is handed to submit and answered with its queue id", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test> SIZE=100 BODY=8BITMIME");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  await client.send("RCPT TO:<Bob@Example.test>");
  assertEquals(await client.reply(), "250 2.1.5 Destination address valid: Recipient ok");
  await client.send("DATA");
  assertEquals(await client.reply(), '354 Enter mail, end with "." on a line by itself');
  await client.sendRaw("Subject: hi\r\n\r\nbody\r\n.\r\n");
  const reply = await client.reply();
  assertMatch(reply, /^250 2\.0\.0 [0-9a-f]{8} Message accepted for delivery$/);
  assertEquals(server.submitted.length, 1);
  const message = server.submitted[0]!;
  assertEquals(reply.split(" ")[2], message.msgid);
  assertEquals(message.sender, "a@client.test");
  assertEquals(message.helo, "client.test");
  // The envelope's id is chosen by the session (its log line names it): the message id and 8 digits.
  const [envelope] = message.envelopes;
  assertMatch(envelope?.evpid ?? "", new RegExp(`^${message.msgid}[0-9a-f]{8}$`));
  assertEquals(message.envelopes, [
    { rcpt: "Bob@Example.test", action: "local", user: "u", evpid: envelope!.evpid! },
  ]);
  const text = contentText(message);
  assertMatch(
    text,
    new RegExp(
      `^Received: from client\\.test \\(<unknown> \\[127\\.0\\.0\\.1\\]\\)\r\n\tby mx\\.example\\.test \\(OpenSMTPD\\) with ESMTP id ${message.msgid}\r\n\tfor <Bob@Example\\.test>;\r\n\t\\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000 \\(UTC\\)\r\n`,
    ),
  );
  // 127.0.0.1 is a local listener: it dates and names a message that came without.
  assertMatch(
    text,
    new RegExp(
      `\r\nSubject: hi\r\nDate: [^\r]+ \\+0000\r\nMessage-ID: <${message.msgid}@mx\\.example\\.test>\r\n\r\nbody\r\n$`,
    ),
  );
  await client.send("QUIT");
  assertEquals(await client.reply(), "221 2.0.0 Bye");
  assertTrue(await client.closedByServer());
});

Deno.test("refused and tempfailed recipients get 550 and 451; DATA needs one accepted", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<>");
  await client.expect("250 ");
  await client.send("RCPT TO:<victim@example.org>");
  assertEquals(await client.reply(), "550 5.1.1 Invalid recipient: <victim@example.org>");
  await client.send("RCPT TO:<x@tempfail.test>");
  assertEquals(await client.reply(), "451 4.3.0 Temporary failure");
  await client.send("DATA");
  assertEquals(await client.reply(), "503 5.5.1 Invalid command: No recipient specified");
});

Deno.test("commands out of sequence get 503", async () => {
  await using server = await startDialogueServer();
  await using client = await server.connect();
  await client.expect("220 ");
  await client.send("MAIL FROM:<a@client.test>");
  assertEquals(await client.reply(), "503 5.5.1 Invalid command: Say HELO or EHLO first");
  await client.send("RCPT TO:<a@example.test>");
  await client.expect("503 5.5.1 ");
  await client.send("DATA");
  await client.expect("503 5.5.1 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("RCPT TO:<a@example.test>");
  assertEquals(
    await client.reply(),
    "503 5.5.1 Invalid command: Command not allowed at this point.",
  );
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  assertEquals(await client.reply(), "503 5.5.1 Invalid command: Nested MAIL command");
  await client.send("RSET");
  assertEquals(await client.reply(), "250 2.0.0 Reset state");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
});

Deno.test("unknown commands get 500, bad arguments 501/553/555", async () => {
  await using server = await startDialogueServer();
  await using client = await server.connect();
  await client.expect("220 ");
  await client.send("WIZ");
  assertEquals(await client.reply(), "500 5.5.1 Invalid command: Command unrecognized");
  await client.send("EHLO");
  assertEquals(await client.reply(), "501 5.5.4 Syntax: EHLO/HELO domain");
  await client.send("EHLO bad_name!");
  await client.expect("501 5.5.4 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL TO:<a@client.test>");
  assertEquals(await client.reply(), "501 5.5.4 Invalid command arguments");
  await client.send("MAIL FROM:a@client.test");
  assertEquals(await client.reply(), "553 5.1.7 Sender address syntax error");
  await client.send("MAIL FROM:<a@client.test> FOO=bar");
  assertEquals(await client.reply(), "555 5.5.4 Unsupported option: FOO");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<not an address>");
  assertEquals(await client.reply(), "501 5.1.3 Recipient address syntax error");
  await client.send("DATA now");
  await client.expect("503 ");
});

Deno.test("a malformed or repeated ESMTP parameter gets 501 5.5.4, not an address error", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  for (
    const params of ["SIZE=", "ENVID=a=b", "AUTH=", "=x", "SIZE=10 SIZE=99999", "RET=FULL ret=HDRS"]
  ) {
    await client.send(`MAIL FROM:<a@client.test> ${params}`);
    assertEquals((await client.reply()).slice(0, 10), "501 5.5.4 ", params);
  }
  await client.send("MAIL FROM:<a@client.test> SIZE=10 SIZE=99999");
  assertEquals(await client.reply(), "501 5.5.4 Repeated parameter: SIZE");
  await client.send("MAIL FROM:<a@client.test> SIZE=10");
  await client.expect("250 ");
  for (const params of ["NOTIFY=", "ORCPT=rfc822;a=b", "NOTIFY=NEVER NOTIFY=NEVER"]) {
    await client.send(`RCPT TO:<u@example.test> ${params}`);
    assertEquals((await client.reply()).slice(0, 10), "501 5.5.4 ", params);
  }
  await client.send("RCPT TO:<u@example.test> NOTIFY=NEVER");
  await client.expect("250 ");
});

Deno.test("NOOP, HELP, VRFY and EXPN answer as documented", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("NOOP");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  await client.send("HELP");
  assertMatch(
    await client.reply(),
    /^214-2\.0\.0 .*\r\n(214-.*\r\n)*214 2\.0\.0 End of HELP info$/,
  );
  await client.send("VRFY root");
  assertEquals(
    await client.reply(),
    "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery",
  );
  await client.send("EXPN staff");
  await client.expect("502 5.5.1 ");
});

Deno.test("SIZE above the limit is refused at MAIL, a bigger body after the data", async () => {
  await using server = await startDialogueServer({ limits: { maxMessageSize: 1000 } });
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test> SIZE=1001");
  assertEquals(
    await client.reply(),
    "552 5.3.4 Message size exceeds fixed maximum message size",
  );
  await client.send("MAIL FROM:<a@client.test> SIZE=900");
  await client.expect("250 ");
  await client.send("RCPT TO:<a@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw(("x".repeat(70) + "\r\n").repeat(20) + ".\r\n");
  assertEquals(await client.reply(), "552 5.3.4 Message too big for system");
  assertEquals(server.submitted.length, 0);
  await client.send("NOOP");
  await client.expect("250 ");
});

Deno.test("dot-stuffed lines are unstuffed; bare LF and LF.LF never end the data", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["a@example.test"]);
  await client.sendRaw("Subject: dots\r\n\r\n..leading dot\r\nbare\n.\nstill data\r\n...\r\n");
  await client.sendRaw(".\r\n");
  await client.expect("250 ");
  const text = contentText(server.submitted[0]!);
  assertTrue(text.endsWith("\r\n.leading dot\r\nbare\n.\nstill data\r\n..\r\n"), text);
});

Deno.test("an empty message and a terminator split across packets are handled", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  for (const pieces of [[".\r\n"], ["Subject: x\r\n\r\nbody\r", "\n.", "\r", "\n"]]) {
    await client.startData("a@client.test", ["a@example.test"]);
    for (const piece of pieces) {
      await client.sendRaw(piece);
      await new Promise((r) => setTimeout(r, 5));
    }
    await client.expect("250 ");
  }
  assertEquals(server.submitted.length, 2);
  assertTrue(contentText(server.submitted[1]!).endsWith("\r\n\r\nbody\r\n"));
});

Deno.test("pipelined commands are answered in order, in one batch", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.sendRaw(
    "MAIL FROM:<a@client.test>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.org>\r\n" +
      "RCPT TO:<c@example.test>\r\nDATA\r\n",
  );
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  await client.expect("250 2.1.5 ");
  await client.expect("550 5.1.1 ");
  await client.expect("250 2.1.5 ");
  await client.expect("354 ");
  await client.sendRaw("Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n");
  await client.expect("250 2.0.0 ");
  await client.expect("221 ");
  assertEquals(server.submitted[0]!.envelopes.map((e) => e.rcpt), [
    "a@example.test",
    "c@example.test",
  ]);
  assertStringIncludes(
    contentText(server.submitted[0]!),
    "by mx.example.test (OpenSMTPD) with ESMTP id",
  );
});

Deno.test("a command line over 2048 octets is refused and the session goes on", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("NOOP " + "x".repeat(2042));
  assertEquals(await client.reply(), "500 5.5.2 Line too long");
  await client.send("NOOP");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
});

Deno.test("a text line over 1000 octets fails the message after the data", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["a@example.test"]);
  await client.sendRaw("Subject: long\r\n\r\n" + "y".repeat(5000) + "\r\n.\r\n");
  await client.expect("500 5.5.2 Message refused: a line is longer than 1000 octets");
  assertEquals(server.submitted.length, 0);
});

Deno.test("a message with 100 Received: headers is refused as a loop", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["a@example.test"]);
  await client.sendRaw("Received: from x by y; now\r\n".repeat(100) + "\r\nbody\r\n.\r\n");
  assertEquals(await client.reply(), "554 5.4.6 Routing loop detected: Too many hops");
});

Deno.test("a queue that cannot write answers 451 and never 250", async () => {
  await using server = await startDialogueServer({ failSubmit: true });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["a@example.test"]);
  await client.sendRaw("\r\nx\r\n.\r\n");
  assertEquals(await client.reply(), "451 4.3.0 Temporary failure: message not queued");
  await client.send("NOOP");
  await client.expect("250 ");
});

Deno.test("the recipient limit answers 452 for one too many", async () => {
  await using server = await startDialogueServer({ limits: { maxRcpt: 2 } });
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  for (const user of ["a", "b"]) {
    await client.send(`RCPT TO:<${user}@example.test>`);
    await client.expect("250 ");
  }
  await client.send("RCPT TO:<c@example.test>");
  assertEquals(await client.reply(), "452 4.5.3 Too many recipients");
});

Deno.test("a pipelined batch over the recipient limit keeps the session and its recipients", async () => {
  // RFC 5321 §4.5.3.1.10: 452 for too many recipients is a normal reply; the client sends
  // the rest in another transaction, so it never counts as a protocol error.
  await using server = await startDialogueServer({ limits: { maxRcpt: 2, maxErrors: 3 } });
  await using client = await server.greeted();
  const rcpts = ["a", "b", "c", "d", "e", "f"].map((u) => `RCPT TO:<${u}@example.test>\r\n`);
  await client.sendRaw("MAIL FROM:<a@client.test>\r\n" + rcpts.join("") + "DATA\r\n");
  await client.expect("250 ");
  for (let i = 0; i < 2; i++) await client.expect("250 2.1.5 ");
  for (let i = 0; i < 4; i++) assertEquals(await client.reply(), "452 4.5.3 Too many recipients");
  await client.expect("354 ");
  await client.sendRaw("Subject: many\r\n\r\nx\r\n.\r\n");
  await client.expect("250 2.0.0 ");
  assertEquals(server.submitted[0]!.envelopes.map((e) => e.rcpt), [
    "a@example.test",
    "b@example.test",
  ]);
});

Deno.test("the message limit per session answers 452", async () => {
  await using server = await startDialogueServer({ limits: { maxMails: 1 } });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["a@example.test"]);
  await client.sendRaw("\r\nx\r\n.\r\n");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  assertEquals(await client.reply(), "452 4.5.3 Too many messages sent");
});

Deno.test("an idle session is closed with 421", async () => {
  await using server = await startDialogueServer({ limits: { idleTimeoutMs: 200 } });
  await using client = await server.greeted();
  assertEquals(await client.reply(), "421 4.4.2 mx.example.test Timeout, closing connection");
  assertTrue(await client.closedByServer());
});

Deno.test("too many protocol errors close the session with 421", async () => {
  await using server = await startDialogueServer({ limits: { maxErrors: 3 } });
  await using client = await server.greeted();
  for (let i = 0; i < 2; i++) {
    await client.send("BOGUS");
    await client.expect("500 ");
  }
  await client.send("BOGUS");
  await client.expect("500 ");
  assertEquals(await client.reply(), "421 4.7.0 Too many errors, closing connection");
  assertTrue(await client.closedByServer());
});

Deno.test("a client that ends its side after the final dot still gets the 250", async () => {
  await using server = await startDialogueServer({ submitDelayMs: 200 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const script = "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.test>\r\n" +
    "DATA\r\nSubject: half-closed\r\n\r\nbody\r\n.\r\n";
  await conn.write(new TextEncoder().encode(script));
  await conn.closeWrite();
  let text = "";
  const buffer = new Uint8Array(4096);
  for (let n; (n = await conn.read(buffer)) !== null;) {
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  conn.close();
  assertEquals(server.submitted.length, 1);
  assertMatch(text, /\r\n250 2\.0\.0 [0-9a-f]+ Message accepted for delivery\r\n$/);
});

Deno.test("a transaction takes the message id the queue gives as free, from MAIL FROM to the 250", async () => {
  await using server = await startDialogueServer({ newMsgid: () => "0badc0de" });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: id\r\n\r\nbody\r\n.\r\n");
  assertEquals(await client.expect("250 "), "250 2.0.0 0badc0de Message accepted for delivery");
  const message = server.submitted[0]!;
  assertEquals(message.envelopes.map((e) => e.evpid!.slice(0, 8)), ["0badc0de"]);
  assertStringIncludes(new TextDecoder().decode(message.content), "id 0badc0de");
});
