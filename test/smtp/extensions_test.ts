// DSN (RFC 3461), SMTPUTF8 (RFC 6531) and CHUNKING/BDAT (RFC 3030) on the wire: what is
// accepted, what is refused, and what reaches the queue.

import { assertEquals, assertTrue } from "../assert.ts";
import { contentText, startDialogueServer } from "./_server.ts";

const DATED = "Date: Fri, 2 Jan 2026 03:04:05 +0000\r\nMessage-ID: <m1@client.test>\r\n";

Deno.test("DSN parameters are validated and carried on the message and its envelopes", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  // RFC 3461 §4.4: the decoded ENVID is printable ASCII; a CR LF would write a report line.
  for (const envid of ["abc+0D+0AX-Injected:+20yes", "a+00b", "+7F"]) {
    await client.send(`MAIL FROM:<a@client.test> ENVID=${envid}`);
    assertEquals(await client.reply(), "501 5.5.4 Invalid ENVID parameter", envid);
  }
  await client.send("MAIL FROM:<a@client.test> RET=HDRS ENVID=QQ+2B314");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  await client.send(
    "RCPT TO:<u@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+2Bx@example.test",
  );
  await client.expect("250 ");
  await client.send("RCPT TO:<v@example.test> NOTIFY=NEVER");
  await client.expect("250 ");
  await client.send("RCPT TO:<w@example.test> NOTIFY=NEVER,DELAY");
  assertEquals(await client.reply(), "501 5.5.4 NOTIFY=NEVER stands alone");
  await client.send("RCPT TO:<w@example.test> NOTIFY=SOMETIMES");
  assertEquals(await client.reply(), "501 5.5.4 Invalid NOTIFY parameter");
  await client.send("RCPT TO:<w@example.test> ORCPT=nosemicolon");
  assertEquals(await client.reply(), "501 5.5.4 Invalid ORCPT parameter");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: dsn\r\n\r\nx\r\n.\r\n");
  await client.expect("250 ");
  const message = server.submitted[0]!;
  assertEquals([message.dsnRet, message.dsnEnvid], ["HDRS", "QQ+314"]);
  assertEquals(message.envelopes.map((e) => [e.rcpt, e.dsnNotify, e.dsnOrcpt]), [
    ["u@example.test", ["SUCCESS", "FAILURE"], "rfc822;u+x@example.test"],
    ["v@example.test", ["NEVER"], undefined],
  ]);
  await client.send("MAIL FROM:<a@client.test> RET=MOST");
  assertEquals(await client.reply(), "501 5.5.4 Invalid RET parameter");
});

Deno.test("ORCPT=utf-8 takes RFC 6533's forms, raw UTF-8 only with SMTPUTF8", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test> SMTPUTF8");
  await client.expect("250 ");
  // utf-8-addr-unitext, and its 7-bit form utf-8-addr-xtext (\x{HEX} for a code point).
  for (
    const orcpt of ["utf-8;u@münchen.test", "UTF-8;u@m\\x{FC}nchen.test", "utf-8;a\\x{2B}b@x.test"]
  ) {
    await client.send(`RCPT TO:<u@münchen.example.test> NOTIFY=FAILURE ORCPT=${orcpt}`);
    assertEquals(await client.reply(), "250 2.1.5 Destination address valid: Recipient ok", orcpt);
  }
  const refused = [
    "utf-8;a+2Bb@x.test", // "+" and "=" are not QCHARs: no xtext escapes here
    "utf-8;a\\b@x.test", // a backslash only as \x{5C}
    "utf-8;\\x{41}@x.test", // ASCII letters are written as themselves
    "utf-8;a\\x{D800}@x.test", // no surrogates
    "utf-8;a\\x{110000}@x.test",
    "utf-8;not-a-mailbox",
    "rfc822;u@münchen.test", // rfc822 stays xtext, ASCII
  ];
  for (const orcpt of refused) {
    await client.send(`RCPT TO:<v@example.test> ORCPT=${orcpt}`);
    assertEquals(await client.reply(), "501 5.5.4 Invalid ORCPT parameter", orcpt);
  }
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: orcpt\r\n\r\nx\r\n.\r\n");
  await client.expect("250 ");
  assertEquals(server.submitted[0]!.envelopes.map((e) => e.dsnOrcpt), [
    "utf-8;u@münchen.test",
    "utf-8;u@münchen.test",
    "utf-8;a+b@x.test",
  ]);
  // Without SMTPUTF8 the 7-bit form is still safe; raw UTF-8 is not.
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test> ORCPT=utf-8;u@m\\x{FC}nchen.test");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test> ORCPT=utf-8;u@münchen.test");
  assertEquals(await client.reply(), "501 5.5.4 Invalid ORCPT parameter");
});

Deno.test("MAIL and RCPT lines made long by DSN and AUTH parameters are accepted", async () => {
  // RFC 3461 §4 and RFC 4954 §5 raise the 512-octet command limit of RFC 5321 §4.5.3.1.4;
  // Postfix sends ORCPT=rfc822;<address> with every RCPT to a server offering DSN.
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  const domain = `${"d".repeat(60)}.${"d".repeat(60)}.${"d".repeat(50)}.example.test`;
  const sender = `${"a".repeat(64)}@${domain}`;
  const mail = `MAIL FROM:<${sender}> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=${"E".repeat(100)}` +
    ` AUTH=${sender}`;
  assertTrue(mail.length > 600);
  await client.send(mail);
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  const rcpt = `${"r".repeat(64)}@${domain}`;
  const line = `RCPT TO:<${rcpt}> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;${rcpt}`;
  assertTrue(line.length > 512);
  await client.send(line);
  assertEquals(await client.reply(), "250 2.1.5 Destination address valid: Recipient ok");
});

Deno.test("no-dsn neither offers DSN nor accepts its parameters", async () => {
  await using server = await startDialogueServer({ dsn: false });
  await using client = await server.connect();
  await client.expect("220 ");
  await client.send("EHLO client.test");
  assertEquals((await client.reply()).includes("DSN"), false);
  await client.send("MAIL FROM:<a@client.test> RET=FULL");
  assertEquals(await client.reply(), "555 5.5.4 Unsupported option: RET");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test> NOTIFY=NEVER");
  assertEquals(await client.reply(), "555 5.5.4 Unsupported option: NOTIFY");
});

Deno.test("UTF-8 addresses are accepted only with SMTPUTF8", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<jörg@client.test>");
  assertEquals(await client.reply(), "553 5.6.7 SMTPUTF8 is required for a UTF-8 address");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<δοκιμή@example.test>");
  assertEquals(await client.reply(), "553 5.6.7 SMTPUTF8 is required for a UTF-8 address");
  await client.send("RSET");
  await client.expect("250 ");
  await client.send("MAIL FROM:<jörg@client.test> SMTPUTF8");
  await client.expect("250 ");
  await client.send("RCPT TO:<δοκιμή@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: ünïcode\r\n\r\nx\r\n.\r\n");
  await client.expect("250 ");
  assertEquals(server.submitted[0]!.smtputf8, true);
  assertEquals(server.submitted[0]!.sender, "jörg@client.test");
});

Deno.test("BDAT chunks make one message, binary as sent, no dot-unstuffing", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  // Dated, so that the local listener adds no Date: or Message-ID: to the header.
  const first = `Subject: chunks\r\n${DATED}\r\n.a dot stays\r\n`;
  const second = "last part\r\n.\r\n";
  await client.sendRaw(`BDAT ${first.length}\r\n${first}`);
  assertEquals(await client.reply(), `250 2.0.0 ${first.length} octets received`);
  await client.sendRaw(`BDAT ${second.length} LAST\r\n${second}`);
  await client.expect("250 2.0.0 ");
  assertTrue(contentText(server.submitted[0]!).endsWith(first + second));
  await client.send("NOOP");
  await client.expect("250 ");
});

Deno.test("BDAT content with 100 Received: headers is a loop; Received: lines in the body do not count", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  const hop = "Received: from x by y; now\r\n";
  // The header section comes in two chunks, cut inside a header line.
  const headers = hop.repeat(100) + "\r\nbody\r\n";
  const cut = hop.length * 50 + 4;
  for (const [size, last] of [[cut, ""], [headers.length - cut, " LAST"]] as const) {
    if (last === "") {
      await client.send("MAIL FROM:<a@client.test>");
      await client.expect("250 ");
      await client.send("RCPT TO:<u@example.test>");
      await client.expect("250 ");
    }
    const part = last === "" ? headers.slice(0, cut) : headers.slice(cut);
    await client.sendRaw(`BDAT ${size}${last}\r\n${part}`);
    if (last === "") await client.expect("250 ");
  }
  assertEquals(await client.reply(), "554 5.4.6 Routing loop detected: Too many hops");
  // 99 in the header section and 100 more after it: accepted.
  const accepted = hop.repeat(99) + DATED + "\r\n" + hop.repeat(100);
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  await client.sendRaw(`BDAT ${accepted.length} LAST\r\n${accepted}`);
  await client.expect("250 2.0.0 ");
  assertTrue(contentText(server.submitted[0]!).endsWith(accepted));
});

Deno.test("BDAT without recipients is read and refused; DATA after BDAT is refused", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.sendRaw("BDAT 12 LAST\r\nNOOP\r\nNOOP\r\n");
  assertEquals(
    await client.reply(),
    "503 5.5.1 Invalid command: BDAT needs MAIL FROM and a recipient first",
  );
  // The chunk was consumed: the NOOPs inside it were not run as commands.
  await client.send("MAIL FROM:<a@client.test>");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  await client.sendRaw("BDAT 3\r\n\r\na");
  await client.expect("250 ");
  await client.send("DATA");
  assertEquals(
    await client.reply(),
    "503 5.5.1 Invalid command: DATA cannot follow BDAT in one transaction",
  );
  await client.sendRaw("BDAT 0 LAST\r\n");
  await client.expect("250 2.0.0 ");
  assertEquals(server.submitted.length, 1);
});

Deno.test("BDAT takes a chunk size with leading zeros and blanks around its words", async () => {
  // RFC 3030 §3: chunk-size = 1*DIGIT, so leading zeros are part of the grammar.
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  const chunk = "\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n";
  await client.sendRaw(`BDAT ${String(chunk.length).padStart(21, "0")}  LAST \r\n${chunk}`);
  await client.expect("250 2.0.0 ");
  await client.send("NOOP");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
  assertEquals(server.submitted.length, 1);
  assertTrue(contentText(server.submitted[0]!).endsWith(chunk));
});

Deno.test("a BDAT line that cannot be parsed closes the session before its chunk is read", async () => {
  // Without a size nobody knows where the chunk ends: reading on would run the chunk's
  // lines as commands. Postfix hangs up with 521 here too.
  for (const args of ["12x LAST", "31 LATER", "-1", "", "99999999999999999999 LAST"]) {
    await using server = await startDialogueServer();
    await using client = await server.greeted();
    await client.send("MAIL FROM:<a@client.test>");
    await client.expect("250 ");
    await client.send("RCPT TO:<u@example.test>");
    await client.expect("250 ");
    await client.sendRaw(`BDAT ${args}\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n`);
    assertEquals(await client.reply(), "521 5.5.4 Syntax: BDAT count [LAST]", args);
    assertTrue(await client.closedByServer(), args);
    assertEquals(server.submitted.length, 0);
  }
});

Deno.test("a BDAT line over the command line limit closes the session before its chunk is read", async () => {
  // The size is not read from a line that is dropped, so the chunk's end is unknown: its
  // bytes must not run as commands of a second transaction.
  const chunk = "RSET\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n" +
    "Subject: smuggled\r\n\r\nhi\r\n.\r\n";
  for (const verb of ["BDAT", "bdat", "BdAt"]) {
    for (const pad of [" ".repeat(2100), "\t".repeat(3000), " ".repeat(5000) + "x"]) {
      await using server = await startDialogueServer();
      await using client = await server.greeted();
      await client.send("MAIL FROM:<a@client.test>");
      await client.expect("250 ");
      await client.send("RCPT TO:<u@example.test>");
      await client.expect("250 ");
      await client.sendRaw(`${verb} ${chunk.length}${pad}\r\n${chunk}`);
      assertEquals(await client.reply(), "521 5.5.4 Syntax: BDAT count [LAST]", verb);
      assertTrue(await client.closedByServer(), verb);
      assertEquals(server.submitted.length, 0);
    }
  }
});

Deno.test("an over-long line that is not BDAT is refused and the session goes on", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  for (const line of ["BDATX" + " ".repeat(2100), "NOOP " + "x".repeat(2100)]) {
    await client.sendRaw(`${line}\r\n`);
    assertEquals(await client.reply(), "500 5.5.2 Line too long");
  }
  await client.send("NOOP");
  assertEquals(await client.reply(), "250 2.0.0 Ok");
});

Deno.test("a BDAT message over the size limit is read whole and refused", async () => {
  await using server = await startDialogueServer({ limits: { maxMessageSize: 100 } });
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  await client.sendRaw(`BDAT 500 LAST\r\n${"x".repeat(500)}`);
  assertEquals(await client.reply(), "552 5.3.4 Message too big for system");
  await client.send("NOOP");
  await client.expect("250 ");
});
