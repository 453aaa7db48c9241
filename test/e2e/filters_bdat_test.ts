// Messages sent with BDAT (RFC 3030 CHUNKING) meet the same filters as those sent with
// DATA: the data phase at the first chunk, the message's lines through data-line filters,
// the commit phase at the last chunk, and the built-in DKIM signer, as the bytes on the
// wire and the mailboxes show.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import { fixtureFilterCommand, scratchDir, startFilterFixture } from "./_filters.ts";

const TABLES = `table spammer { spammer@client.test }
table committer { late@client.test }`;

async function greeted(port: number): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  return client;
}

async function envelope(client: SmtpTestClient, from: string, to: string): Promise<void> {
  await client.send(`MAIL FROM:<${from}>`);
  await client.expect("250 ");
  await client.send(`RCPT TO:<${to}>`);
  await client.expect("250 ");
}

// The chunks, pipelined as CHUNKING clients send them, the last one with LAST.
function chunked(chunks: readonly string[]): string {
  const encoder = new TextEncoder();
  return chunks.map((chunk, i) =>
    `BDAT ${encoder.encode(chunk).byteLength}${i === chunks.length - 1 ? " LAST" : ""}\r\n${chunk}`
  ).join("");
}

Deno.test("BDAT: a builtin data-phase reject refuses the first chunk once it is read, and nothing is queued", async () => {
  await using fx = await startFilterFixture({
    head:
      `${TABLES}\nfilter "f" phase data match mail-from <spammer> reject "554 5.7.1 No data from you"`,
    listen: `filter "f"`,
  });
  await using client = await greeted(fx.port);
  await envelope(client, "spammer@client.test", "alice@example.test");
  // The first chunk holds what would be commands: read as data, never run.
  await client.sendRaw(chunked(["Subject: chunked\r\n\r\nQUIT\r\n", "more\r\n"]));
  assertEquals(await client.reply(), "554 5.7.1 No data from you");
  // RFC 3030 §2: the refused chunk failed the transaction; the next one finds none.
  assertEquals(
    await client.reply(),
    "503 5.5.1 Invalid command: BDAT needs MAIL FROM and a recipient first",
  );
  await client.send("NOOP");
  await client.expect("250 ");
  assertEquals(fx.daemon.queue.stats().queued, 0);
  await envelope(client, "other@client.test", "alice@example.test");
  await client.sendRaw(chunked(["Subject: fine\r\n\r\nbody\r\n"]));
  await client.expect("250 ");
  const [text] = await fx.delivered("alice");
  assertStringIncludes(text!, "Subject: fine");
});

Deno.test("BDAT: a builtin data-phase junk puts X-Spam: yes on the chunked message", async () => {
  await using fx = await startFilterFixture({
    head: `${TABLES}\nfilter "f" phase data match mail-from <spammer> junk`,
    listen: `filter "f"`,
  });
  await using client = await greeted(fx.port);
  await envelope(client, "spammer@client.test", "alice@example.test");
  await client.sendRaw(chunked(["Subject: junk\r\n\r\n", "buy\r\n"]));
  await client.expect("250 ");
  await client.expect("250 ");
  const [text] = await fx.delivered("alice");
  assertStringIncludes(text!, "\nDelivered-To: alice@example.test\nX-Spam: yes\nReceived: ");
});

Deno.test("BDAT: a builtin commit-phase reject refuses the last chunk, and nothing is queued", async () => {
  await using fx = await startFilterFixture({
    head:
      `${TABLES}\nfilter "f" phase commit match mail-from <committer> reject "554 5.7.1 Not at commit"`,
    listen: `filter "f"`,
  });
  await using client = await greeted(fx.port);
  await envelope(client, "late@client.test", "alice@example.test");
  await client.sendRaw(chunked(["Subject: late\r\n\r\n", "body\r\n"]));
  await client.expect("250 ");
  assertEquals(await client.reply(), "554 5.7.1 Not at commit");
  assertEquals(fx.daemon.queue.stats().queued, 0);
});

Deno.test("BDAT and DATA: a proc-exec filter's data and commit refusals and its rewrite apply alike", async () => {
  const dir = await scratchDir();
  const events = `${dir}/events`;
  await using fx = await startFilterFixture({
    dir,
    head: `filter "phases" proc-exec "${await fixtureFilterCommand(
      dir,
      "phase_filter.py",
      events,
    )}"`,
    listen: `filter "phases"`,
  });
  const pid = await waitFor("the filter's pid", () => fx.daemon.filterPid("phases"));
  await using client = await greeted(fx.port);
  // The data phase: BDAT's first chunk and DATA are refused alike.
  await envelope(client, "nodata@client.test", "alice@example.test");
  await client.sendRaw(chunked(["Subject: refused\r\n\r\nbody\r\n"]));
  assertEquals(await client.reply(), "554 5.7.1 No data from you");
  await envelope(client, "nodata@client.test", "alice@example.test");
  await client.send("DATA");
  assertEquals(await client.reply(), "554 5.7.1 No data from you");
  await client.send("RSET");
  await client.expect("250 ");
  // The commit phase, after the last chunk.
  await envelope(client, "nocommit@client.test", "alice@example.test");
  await client.sendRaw(chunked(["Subject: refused late\r\n\r\n", "body\r\n"]));
  await client.expect("250 ");
  assertEquals(await client.reply(), "554 5.7.1 Not committed");
  // The message's lines, rewritten; a bare LF in a chunk ends a line, never the message.
  await envelope(client, "sender@client.test", "alice@example.test");
  await client.sendRaw(
    chunked(["Subject: chunks\r\n\r\nthe secret\r\n", "one\n.\ntwo secret\r\n"]),
  );
  await client.expect("250 ");
  const reply = await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  const [text] = await fx.delivered("alice");
  assertTrue(text!.includes("\nX-Phase-Filter: rewritten\nReceived: from client.test"), text);
  assertStringIncludes(text!, "\nSubject: chunks\n");
  assertStringIncludes(text!, "\n\nthe [redacted]\none\n.\ntwo [redacted]\n");
  assertEquals(fx.daemon.filterPid("phases"), pid, "the filter was never restarted");
  const msgid = reply.split(" ")[2]!;
  const seen = await Deno.readTextFile(events);
  assertStringIncludes(seen, `tx-data|${msgid}|ok\n`);
  assertMatch(seen, new RegExp(`tx-commit\\|${msgid}\\|\\d+\n`));
  assertEquals((await fx.delivered("alice")).length, 1, "the refused messages were not queued");
});
