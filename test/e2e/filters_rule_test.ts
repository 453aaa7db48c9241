// Filters chosen per rule (`match … filter NAME action A`): the rule's filters are asked
// about the recipients it accepts and take the message's data; other rules' mail is
// left alone.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { echoFilterCommand, scratchDir, startFilterFixture } from "./_filters.ts";

async function ruleFixture() {
  const dir = await scratchDir();
  return await startFilterFixture({
    dir,
    head: `filter "echo" proc-exec "${await echoFilterCommand(dir)}"
table filtered { "@filtered.example.test", bob@example.test, reject-bob@example.test }`,
    rules: `match from any for rcpt-to <filtered> filter "echo" action "local"`,
  });
}

async function send(port: number, to: readonly string[], subject: string): Promise<string[]> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  const replies = [];
  for (const rcpt of to) {
    await client.send(`RCPT TO:<${rcpt}>`);
    replies.push(await client.reply());
  }
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw(`Subject: ${subject}\r\n\r\nbody\r\n.\r\n`);
  replies.push(await client.reply());
  return replies;
}

Deno.test("a rule's filter takes the mail that rule accepts, and only that", async () => {
  await using fx = await ruleFixture();
  const replies = await send(fx.port, ["bob@example.test"], "for bob");
  assertTrue(replies.at(-1)!.startsWith("250 "), replies.join("\n"));
  const [bob] = await fx.delivered("bob");
  assertStringIncludes(bob!, "X-Echo-Filter: yes\nReceived: ");

  await send(fx.port, ["alice@example.test"], "for alice");
  const [alice] = await fx.delivered("alice");
  assertEquals(alice!.includes("X-Echo-Filter"), false, "the other rule's mail is not filtered");
});

Deno.test("a rule's filter is asked about the recipient that rule accepted, and refuses it", async () => {
  await using fx = await ruleFixture();
  const replies = await send(
    fx.port,
    ["reject-bob@example.test", "reject-alice@example.test"],
    "mixed",
  );
  assertEquals(replies[0], "550 5.7.1 Refused by the echo filter");
  // The same local part under a rule without the filter is not the filter's to refuse.
  assertTrue(replies[1]!.startsWith("250 "), replies.join("\n"));
  const [text] = await fx.delivered("reject-alice");
  assertEquals(text!.includes("X-Echo-Filter"), false);
});

Deno.test("one message for two rules is filtered once for all its recipients", async () => {
  await using fx = await ruleFixture();
  await send(fx.port, ["alice@example.test", "bob@example.test"], "both");
  const [alice] = await fx.delivered("alice");
  const [bob] = await fx.delivered("bob");
  assertStringIncludes(alice!, "X-Echo-Filter: yes\n");
  assertStringIncludes(bob!, "X-Echo-Filter: yes\n");
});
