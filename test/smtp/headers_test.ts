// What the server changes in the header of mail it receives, as the queue gets it: Bcc:
// dropped, bare names in From/To/Cc completed, Date: and Message-ID: added on a local
// listener (this one listens on 127.0.0.1), the Received: protocol of an SMTPUTF8 message.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { contentText, startDialogueServer } from "./_server.ts";

// What follows our Received: header (its last line is the date, `(UTC)`).
function afterReceived(text: string): string {
  return text.slice(text.indexOf("(UTC)\r\n") + "(UTC)\r\n".length);
}

const DATED = "Date: Fri, 2 Jan 2026 03:04:05 +0000\r\nMessage-ID: <m1@client.test>\r\n";

Deno.test("Bcc: is dropped from mail received by DATA, its continuation lines too", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test", "secret@example.test"]);
  const body = "Bcc: a body line is no header\r\n\r\n..dots stay\r\n";
  await client.sendRaw(
    "From: a@client.test\r\nTo: u@example.test\r\nbcc: secret@example.test,\r\n" +
      "\tother@example.test\r\nSubject: s\r\n" + DATED + "\r\n" + body + ".\r\n",
  );
  await client.expect("250 ");
  const message = server.submitted[0]!;
  assertEquals(
    afterReceived(contentText(message)),
    "From: a@client.test\r\nTo: u@example.test\r\nSubject: s\r\n" + DATED + "\r\n" +
      body.replace("..", "."),
  );
  assertEquals(message.envelopes.map((e) => e.rcpt), ["u@example.test", "secret@example.test"]);
});

Deno.test("Bcc: is dropped from mail received by BDAT, the body kept byte for byte", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  const body = "\r\n\x00\xff\r\n.\r\nBcc: x\r\n";
  const content = "Subject: s\r\n" + DATED + "BCC: secret@example.test\r\n" + body;
  const bytes = Uint8Array.from(content, (c) => c.charCodeAt(0));
  await client.sendRaw(`BDAT ${bytes.byteLength} LAST\r\n`);
  await client.sendBytes(bytes);
  await client.expect("250 ");
  const stored = server.submitted[0]!.content;
  const expected = Uint8Array.from("Subject: s\r\n" + DATED + body, (c) => c.charCodeAt(0));
  assertEquals(stored.subarray(stored.byteLength - expected.byteLength), expected);
  assertTrue(!contentText(server.submitted[0]!).includes("secret"));
});

Deno.test("a local listener adds Date: and Message-ID: and completes bare names in From, To and Cc", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw(
    "From: me\r\nTo: bob,\r\n alice (Alice), <carol>, dave@example.test\r\n" +
      'Cc: "Eve E" <eve>, team: x;\r\nReply-To: bare\r\nSubject: s\r\n\r\nTo: body\r\n.\r\n',
  );
  await client.expect("250 ");
  const message = server.submitted[0]!;
  const after = afterReceived(contentText(message));
  const date = /\r\nDate: (.*)\r\n/.exec(after)?.[1] ?? "";
  assertMatch(date, /^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
  assertEquals(
    after,
    "From: me@mx.example.test\r\n" +
      "To: bob@mx.example.test,\r\n alice@mx.example.test (Alice), <carol@mx.example.test>," +
      " dave@example.test\r\n" +
      'Cc: "Eve E" <eve@mx.example.test>, team: x;\r\nReply-To: bare\r\nSubject: s\r\n' +
      `Date: ${date}\r\nMessage-ID: <${message.msgid}@mx.example.test>\r\n` +
      "\r\nTo: body\r\n",
  );
});

Deno.test("completing bare names folds a To: line it takes past 998 octets after commas", async () => {
  // 100 bare names fit in one 904-octet line; completed they would not (RFC 5322 §2.1.1),
  // and a strict next hop would refuse the message this server accepted.
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  const names = Array.from({ length: 100 }, (_, i) => `user${String(i).padStart(3, "0")}`);
  const header = "From: a@client.test\r\nTo: " + names.join(", ") + "\r\n" + DATED;
  assertTrue(header.length < 1000);
  await client.sendRaw(header + "\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  const after = afterReceived(contentText(server.submitted[0]!));
  const lines = after.split("\r\n");
  assertTrue(lines.every((line) => line.length <= 998), String(lines.map((l) => l.length)));
  const to = /^To:(.*?)\r\n(?![ \t])/ms.exec(after)?.[1] ?? "";
  assertTrue(to.includes(",\r\n "));
  // Unfolded, the field says what the client wrote, completed.
  assertEquals(
    to.replaceAll("\r\n", ""),
    " " + names.map((n) => n + "@mx.example.test").join(", "),
  );
  assertTrue(after.endsWith(DATED + "\r\nbody\r\n"));
});

// OpenSMTPD's reply to a header it cannot parse (smtp_session.c, TX_ERROR_MALFORMED).
const MALFORMED = "550 5.7.1 Delivery not authorized, message refused: " +
  "Message is not RFC 2822 compliant";

// Sends `content` as one message by DATA (dot-stuffed) or by one BDAT LAST chunk.
async function sendMessage(
  client: Awaited<ReturnType<Awaited<ReturnType<typeof startDialogueServer>>["greeted"]>>,
  content: string,
  by: "DATA" | "BDAT",
): Promise<string> {
  if (by === "DATA") {
    await client.startData("a@client.test", ["u@example.test"]);
    await client.sendRaw(content.replaceAll(/^\./gm, "..") + ".\r\n");
  } else {
    await client.send("MAIL FROM:<a@client.test>");
    await client.expect("250 ");
    await client.send("RCPT TO:<u@example.test>");
    await client.expect("250 ");
    await client.sendRaw(`BDAT ${new TextEncoder().encode(content).length} LAST\r\n${content}`);
  }
  return await client.reply();
}

Deno.test("a header with a line that is neither a field nor a continuation is refused", async () => {
  // The walk would stop at such a line: a Bcc: after it would reach the recipients.
  const refused = [
    "Subject: s\r\nX-Broken no colon\r\nBcc: hidden@x.test\r\nTo: bob\r\n\r\nbody\r\n",
    "hello world\r\nsecond\r\n",
    "Note: this is body text\r\nmore\r\n",
    "X-Ok: 1\r\n\tfolded\r\n: empty name\r\nno\r\n\r\nbody\r\n",
  ];
  for (const by of ["DATA", "BDAT"] as const) {
    await using server = await startDialogueServer();
    await using client = await server.greeted();
    for (const content of refused) {
      assertEquals(await sendMessage(client, content, by), MALFORMED, `${by} ${content}`);
    }
    assertEquals(server.submitted.length, 0);
    // The session goes on, and takes a message whose header ends with its empty line.
    assertEquals((await sendMessage(client, DATED + "\r\nok\r\n", by)).slice(0, 4), "250 ");
  }
});

Deno.test("a message with no header, or no body, is taken as OpenSMTPD takes it", async () => {
  for (const by of ["DATA", "BDAT"] as const) {
    await using server = await startDialogueServer();
    await using client = await server.greeted();
    // Only a body after the empty line: Date: and Message-ID: go before that line.
    assertEquals((await sendMessage(client, "\r\nhello world\r\n", by)).slice(0, 4), "250 ");
    // Only a header, with no empty line after it.
    assertEquals((await sendMessage(client, "To: bob\r\nSubject: x\r\n", by)).slice(0, 4), "250 ");
    const [bodyOnly, headerOnly] = server.submitted.map((m) => afterReceived(contentText(m)));
    assertMatch(
      bodyOnly!,
      /^Date: [^\r]+\r\nMessage-ID: <[0-9a-f]+@mx.example.test>\r\n\r\nhello world\r\n$/,
    );
    assertMatch(
      headerOnly!,
      /^To: bob@mx.example.test\r\nSubject: x\r\nDate: [^\r]+\r\nMessage-ID: <[^>]+>\r\n$/,
    );
  }
});

Deno.test("a message that has its Date:, Message-ID: and whole addresses is queued as sent", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  const content = "From: A <a@client.test>\r\nTo: u@example.test\r\n" + DATED + "\r\nhi\r\n";
  await client.sendRaw(content + ".\r\n");
  await client.expect("250 ");
  assertEquals(afterReceived(contentText(server.submitted[0]!)), content);
});

Deno.test("Received: says UTF8SMTP for a transaction whose MAIL carried SMTPUTF8", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.send("MAIL FROM:<jörg@client.test> SMTPUTF8");
  await client.expect("250 ");
  await client.send("RCPT TO:<u@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw("Subject: café\r\n" + DATED + "\r\nx\r\n.\r\n");
  await client.expect("250 ");
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: plain\r\n" + DATED + "\r\nx\r\n.\r\n");
  await client.expect("250 ");
  const [utf8, plain] = server.submitted.map(contentText);
  assertMatch(utf8!, /\r\n\tby mx\.example\.test \(OpenSMTPD\) with UTF8SMTP id /);
  assertMatch(utf8!, /\r\nSubject: café\r\n/);
  assertMatch(plain!, /\r\n\tby mx\.example\.test \(OpenSMTPD\) with ESMTP id /);
});
