// The builtin filters of smtpd.conf(5) (`filter NAME phase P match CONDITIONS DECISION`),
// through the daemon: one test per phase and per decision, each seen on the wire or in
// the delivered mailbox.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { startFilterFixture } from "./_filters.ts";

const TABLES = `table lo { 127.0.0.1 }
table badhelo { bad.test }
table evil { "^evil\\." }
table spammer { spammer@client.test }
table blocked { blocked@example.test }
table committer { late@client.test }`;

async function fixture(filters: string, chain: string) {
  return await startFilterFixture({ head: `${TABLES}\n${filters}`, listen: `filter ${chain}` });
}

async function greeted(port: number, hello = "EHLO client.test"): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send(hello);
  await client.expect("250 ");
  return client;
}

Deno.test("builtin phase connect: reject replaces the banner and ends the session", async () => {
  await using fx = await fixture(
    `filter "f" phase connect match src <lo> reject "554 5.7.1 Not from here"`,
    `"f"`,
  );
  await using client = await SmtpTestClient.connect(fx.port);
  assertEquals(await client.reply(), "554 5.7.1 Not from here");
  assertTrue(await client.closedByServer());
});

Deno.test("builtin phase connect: a negated condition that fails lets the session in", async () => {
  await using fx = await fixture(
    `filter "f" phase connect match !src <lo> reject "554 5.7.1 Not from here"`,
    `"f"`,
  );
  await using client = await greeted(fx.port);
  await client.send("QUIT");
  await client.expect("221 ");
});

Deno.test("builtin phase helo: reject refuses the name, another name is greeted", async () => {
  await using fx = await fixture(
    `filter "f" phase helo match helo <badhelo> reject "550 5.7.1 Bad HELO"`,
    `"f"`,
  );
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("HELO bad.test");
  assertEquals(await client.reply(), "550 5.7.1 Bad HELO");
  await client.send("HELO good.test");
  await client.expect("250 ");
});

Deno.test("builtin phase ehlo: disconnect by regex answers and closes", async () => {
  await using fx = await fixture(
    `filter "f" phase ehlo match helo regex <evil> disconnect "421 4.7.0 Go away"`,
    `"f"`,
  );
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO evil.test");
  assertEquals(await client.reply(), "421 4.7.0 Go away");
  assertTrue(await client.closedByServer());
});

Deno.test("builtin phase mail-from: rewrite changes the sender that is queued", async () => {
  await using fx = await fixture(
    `filter "f" phase mail-from match mail-from <spammer> rewrite "rewritten@example.test"`,
    `"f"`,
  );
  await using client = await greeted(fx.port);
  await client.startData("spammer@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: rewritten\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  const [text] = await fx.delivered("alice");
  assertTrue(text!.startsWith("Return-Path: <rewritten@example.test>\n"), text);
});

Deno.test("builtin phase rcpt-to: reject refuses that recipient only", async () => {
  await using fx = await fixture(
    `filter "f" phase rcpt-to match rcpt-to <blocked> reject "550 5.7.1 Not this one"`,
    `"f"`,
  );
  await using client = await greeted(fx.port);
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<blocked@example.test>");
  assertEquals(await client.reply(), "550 5.7.1 Not this one");
  await client.send("RCPT TO:<alice@example.test>");
  await client.expect("250 ");
});

Deno.test("builtin phase data: junk adds X-Spam: yes to the queued message", async () => {
  await using fx = await fixture(`filter "f" phase data match src <lo> junk`, `"f"`);
  await using client = await greeted(fx.port);
  await client.startData("sender@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: junk\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  const [text] = await fx.delivered("alice");
  assertStringIncludes(text!, "\nDelivered-To: alice@example.test\nX-Spam: yes\nReceived: ");
});

Deno.test("builtin phase commit: reject refuses the message after its data, nothing is queued", async () => {
  await using fx = await fixture(
    `filter "f" phase commit match mail-from <committer> reject "554 5.7.1 Not at commit"`,
    `"f"`,
  );
  await using client = await greeted(fx.port);
  await client.startData("late@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: late\r\n\r\nbody\r\n.\r\n");
  assertEquals(await client.reply(), "554 5.7.1 Not at commit");
  assertEquals(fx.daemon.queue.stats().queued, 0);
  await client.startData("other@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: fine\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
});

Deno.test("builtin bypass skips the rest of the chain at that phase", async () => {
  await using fx = await fixture(
    `filter "pass" phase rcpt-to match rcpt-to <blocked> bypass
filter "no" phase rcpt-to match rcpt-to <blocked> reject "550 5.7.1 Not this one"
filter "c" chain { "pass", "no" }`,
    `"c"`,
  );
  await using client = await greeted(fx.port);
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<blocked@example.test>");
  await client.expect("250 ");
});

Deno.test("builtin report logs the value and lets the session go on", async () => {
  await using fx = await fixture(
    `filter "f" phase helo match helo <badhelo> report "saw bad.test"`,
    `"f"`,
  );
  await using client = await greeted(fx.port, "HELO bad.test");
  await client.send("QUIT");
  await client.expect("221 ");
  assertTrue(fx.log.some((l) => /filter f: session \w+: saw bad\.test/.test(l)), fx.log.join("\n"));
});
