// The delivery ledger against a real dialogue: a BDAT chunk declared longer than it was
// leaves the transaction open past the message's end, so a RCPT sent after it joins the
// message; the ledger counts that name, and still flags a name never sent.

import { assertEquals, assertTrue } from "../assert.ts";
import { startFuzzDaemon } from "./_smtp_daemon.ts";
import { DeliveryLedger } from "./_smtp_ledger.ts";
import type { SessionRecord } from "./_smtp_session.ts";

const encoder = new TextEncoder();
const HEAD = "Subject: fuzz c1m0\r\nX-Fuzz-Token: c1m0\r\n\r\n";

// As the fuzzer's cases 79318 and 81915 of seed 1217 sent it (pipelined, one write): the
// first chunk says 3 octets more than it holds, so it takes "BDA" of the next command,
// whose rest ("T 6 LAST", "body") is refused as commands; the RCPT then joins the open
// transaction and BDAT 0 LAST commits it, with c1m0 the only token in its content.
const DIALOGUE = "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n" +
  "RCPT TO:<dave@example.test>\r\nRCPT TO:<bob@example.test>\r\n" +
  `BDAT ${HEAD.length + 3}\r\n${HEAD}BDAT 6 LAST\r\nbody\r\n` +
  "RCPT TO:<sol0@example.test>\r\nBDAT 0 LAST\r\nQUIT\r\n";

async function converse(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = encoder.encode(DIALOGUE);
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of conn.readable) text += decoder.decode(chunk, { stream: true });
  return text;
}

async function copyMaildir(from: string): Promise<string> {
  const to = await Deno.makeTempDir({ prefix: "smtpd-ledger-" });
  await Deno.mkdir(`${to}/new`);
  for await (const entry of Deno.readDir(`${from}/new`)) {
    await Deno.copyFile(`${from}/new/${entry.name}`, `${to}/new/${entry.name}`);
  }
  return to;
}

Deno.test("ledger: a RCPT after the message's end that joins its open transaction counts as named", async () => {
  const daemon = await startFuzzDaemon();
  const copies: string[] = [];
  try {
    const replies = await converse(daemon.port);
    const codes = replies.split("\r\n").filter((l) => /^\d{3} /.test(l)).map((l) => l.slice(0, 3));
    // The greeting, EHLO, MAIL, 2 RCPT, the chunk, "T 6 LAST", "body", RCPT sol0, BDAT 0 LAST, QUIT.
    assertEquals(codes, [
      "220",
      "250",
      "250",
      "250",
      "250",
      "250",
      "500",
      "500",
      "250",
      "250",
      "221",
    ]);
    const msgid = /250 2\.0\.0 ([0-9a-f]{8}) Message accepted/.exec(replies)?.[1] ?? "";
    assertTrue(msgid !== "", replies);
    // Wait for the three deliveries, then read who got them.
    const deadline = Date.now() + 60_000;
    let names: string[] = [];
    while (names.length < 3 && Date.now() < deadline) {
      names = [];
      const entries = await Array.fromAsync(Deno.readDir(`${daemon.mailDir}/new`)).catch(() => []);
      for (const entry of entries) {
        const text = await Deno.readTextFile(`${daemon.mailDir}/new/${entry.name}`);
        // The swallowed "BDA" is the end of the content: c1m0 is its only token (a local
        // listener adds the Date: and Message-ID: the message lacks after its header).
        assertTrue(
          /^X-Fuzz-Token: c1m0\r?\nDate: .*\r?\nMessage-ID: .*\r?\n\r?\nBDA\r?\n?$/m.test(text),
          text,
        );
        names.push(/^Delivered-To: (.*)@/m.exec(text)![1]!);
      }
      if (names.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(names.sort(), ["bob", "dave", "sol0"]);

    const record = (trailing: Map<string, number>): SessionRecord => ({
      id: "c1",
      accepted: [msgid],
      messages: [{ token: "c1m0", named: new Map([["dave", 1], ["bob", 1]]) }],
      trailing,
      complete: true,
      commands: 10,
    });
    // As the session counted it: sol0 named after the end of c1m0.
    const right = new DeliveryLedger();
    right.record(1, record(new Map([["sol0", 1]])));
    copies.push(await copyMaildir(daemon.mailDir));
    assertEquals(await right.settle(copies[0]!, 10_000), []);
    // Had sol0 never been sent, the delivery to it is flagged.
    const wrong = new DeliveryLedger();
    wrong.record(1, record(new Map()));
    copies.push(await copyMaildir(daemon.mailDir));
    assertEquals(await wrong.settle(copies[1]!, 10_000), [
      "case 1: c1m0 delivered 1 times to sol0, named 0 times",
    ]);
  } finally {
    await daemon.stop();
    for (const dir of copies) await Deno.remove(dir, { recursive: true });
  }
});
