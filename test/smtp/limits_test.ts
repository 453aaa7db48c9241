// Limits that hold against hostile or broken clients: session caps, early talkers,
// timeouts while data is coming, and what Received: hides with mask-src.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import { contentText, startDialogueServer } from "./_server.ts";

Deno.test("a connection over the per-client cap gets 421 and is closed", async () => {
  await using server = await startDialogueServer({
    limits: { maxSessionsPerClient: 2 },
    remote: true,
  });
  await using a = await server.connect();
  await using b = await server.connect();
  await a.expect("220 ");
  await b.expect("220 ");
  await using c = await SmtpTestClient.connect(server.port);
  assertEquals(await c.reply(), "421 4.7.0 Too many connections, try again later");
  assertTrue(await c.closedByServer());
  a.close();
  // Once the server has seen the close, the client may connect again.
  const greeting = await waitFor("a free slot", async () => {
    await using d = await SmtpTestClient.connect(server.port);
    const reply = await d.reply();
    return reply.startsWith("220 ") ? reply : undefined;
  });
  assertStringIncludes(greeting, "ESMTP");
});

Deno.test("a connection over the listener's cap gets 421", async () => {
  await using server = await startDialogueServer({ limits: { maxSessions: 1 } });
  await using a = await server.connect();
  await a.expect("220 ");
  await using b = await SmtpTestClient.connect(server.port);
  assertEquals(await b.reply(), "421 4.7.0 Too many connections, try again later");
});

Deno.test("a client that talks before the greeting is refused", async () => {
  await using server = await startDialogueServer({ limits: { greetingDelayMs: 150 } });
  await using early = await server.connect();
  await early.send("EHLO impatient.test");
  assertEquals(await early.reply(), "554 5.5.0 Talking before the greeting is not allowed");
  assertTrue(await early.closedByServer());
  await using patient = await server.connect();
  await patient.expect("220 ");
});

Deno.test("a client that stops sending in the middle of the data times out with 421", async () => {
  await using server = await startDialogueServer({
    limits: { idleTimeoutMs: 10_000, dataTimeoutMs: 150 },
  });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: stalled\r\n");
  assertEquals(await client.reply(), "421 4.4.2 mx.example.test Timeout, closing connection");
  assertEquals(server.submitted.length, 0);
});

// Sends one byte every `everyMs` until the server answers; resolves with the answer and
// the time from the first byte.
async function trickleUntilAnswered(client: SmtpTestClient, everyMs: number, maxMs: number) {
  let answered = false;
  const started = Date.now();
  const trickle = (async () => {
    while (!answered && Date.now() - started < maxMs) {
      try {
        await client.sendRaw("x");
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  const reply = await client.reply();
  answered = true;
  await trickle;
  return { reply, elapsed: Date.now() - started };
}

Deno.test("a line of message data trickled byte by byte is cut off a timeout after its first byte", async () => {
  await using server = await startDialogueServer({
    limits: { idleTimeoutMs: 10_000, dataTimeoutMs: 800 },
  });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: slow\r\n\r\n");
  const { reply, elapsed } = await trickleUntilAnswered(client, 150, 8000);
  assertEquals(reply, "421 4.4.2 mx.example.test Timeout, closing connection");
  assertTrue(elapsed >= 700 && elapsed < 4000, `answered after ${elapsed} ms`);
  assertTrue(await client.closedByServer());
  assertEquals(server.submitted.length, 0);
});

Deno.test("a command line that arrives in pieces within the timeout is answered", async () => {
  await using server = await startDialogueServer({ limits: { idleTimeoutMs: 5000 } });
  await using client = await server.greeted();
  for (const piece of ["NO", "O", "P\r"]) {
    await client.sendRaw(piece);
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.sendRaw("\n");
  await client.expect("250 ");
});

Deno.test("mask-src leaves the client out of Received:", async () => {
  await using server = await startDialogueServer({ maskSource: true });
  await using client = await server.greeted();
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: masked\r\n\r\nx\r\n.\r\n");
  await client.expect("250 ");
  const text = contentText(server.submitted[0]!);
  assertStringIncludes(text, "Received: by mx.example.test (OpenSMTPD) with ESMTP id ");
  assertEquals(text.includes("127.0.0.1"), false);
});

Deno.test("the machine's own addresses are not held to the per-client cap", async () => {
  await using server = await startDialogueServer({ limits: { maxSessionsPerClient: 1 } });
  await using a = await server.connect();
  await using b = await server.connect();
  await a.expect("220 ");
  await b.expect("220 ");
});
