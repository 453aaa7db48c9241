// Large messages sent at once, against the daemon as a child process: the sessions may hold
// 64 MiB of message data in all (DATA_BUDGET_BYTES), so a message that would go past it is
// read to its end, answered 452 4.3.1 and not queued, the daemon stays small, and the data
// of messages committed or refused is given back for the next ones.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  queueDrained,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitListening,
} from "../_helpers.ts";
import { residentMegabytes } from "../_memory.ts";

const MESSAGE_BYTES = 30_000_000;
// Two messages held (60 MB) leave too little of the 64 MiB for a third.
const HELD = 2;
const REFUSED = 8;
// What the daemon's resident memory may grow while the two messages are held and the others
// are refused (it idles at 60-130 MB): the 60 MB held, and what the collector has not yet
// taken of the data read and dropped (V8 frees such buffers once their total has grown by
// about 64 MB; 170 MB in all was seen). Without the budget the ten messages are held
// (300 MB) and committed, and it grows by 450-800 MB. (Committing a message takes copies of
// it beyond the sessions' budget, so the commits of the held ones are not measured here.)
const RSS_GROWTH_BOUND_MB = 240;

// A 30 MB message of text lines: a header, an empty line, then 78-character lines.
function bigMessage(): Uint8Array {
  const header = new TextEncoder().encode("Subject: big\r\n\r\n");
  const line = new TextEncoder().encode("x".repeat(76) + "\r\n");
  const bytes = new Uint8Array(MESSAGE_BYTES);
  bytes.set(header, 0);
  for (let at = header.length; at < MESSAGE_BYTES; at += line.length) {
    bytes.set(line.subarray(0, Math.min(line.length, MESSAGE_BYTES - at)), at);
  }
  bytes.set(new TextEncoder().encode("\r\n"), MESSAGE_BYTES - 2);
  return bytes;
}

async function openTransaction(port: number, rcpt: string): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<sender@client.test>");
  await client.expect("250 ");
  await client.send(`RCPT TO:<${rcpt}>`);
  await client.expect("250 ");
  return client;
}

// A DATA transaction with the whole message; resolves with the reply to the final dot.
async function sendByData(port: number, rcpt: string, message: Uint8Array): Promise<string> {
  await using client = await openTransaction(port, rcpt);
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendBytes(message);
  await client.sendRaw(".\r\n");
  return await client.reply();
}

Deno.test("messages past the sessions' data budget get 452 4.3.1, the others are delivered, and the daemon stays small", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-budget-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(conf);
  const holders: SmtpTestClient[] = [];
  try {
    await waitListening(port);
    const message = bigMessage();
    const idle = residentMegabytes(daemon.child.pid);
    let peak = idle;
    const sample = () => void (peak = Math.max(peak, residentMegabytes(daemon.child.pid)));
    const sampler = setInterval(sample, 50);
    try {
      // Two messages whose first BDAT chunk was read and acknowledged: the daemon holds
      // them until their last chunk comes.
      for (let n = 0; n < HELD; n++) {
        const client = await openTransaction(port, `held${n}@example.test`);
        holders.push(client);
        await client.send(`BDAT ${message.length}`);
        await client.sendBytes(message);
        await client.expect(`250 2.0.0 ${message.length} octets received`);
      }

      // Sent meanwhile, each is read to its end and refused for now.
      const refused = await Promise.all(
        Array.from(
          { length: REFUSED },
          (_, n) => sendByData(port, `refused${n}@example.test`, message),
        ),
      );
      for (const reply of refused) assertMatch(reply, /^452 4\.3\.1 /);

      // BDAT alike: the chunk is read and acknowledged, the message refused at its end.
      await using client = await openTransaction(port, "refused-bdat@example.test");
      await client.send(`BDAT ${message.length} LAST`);
      await client.sendBytes(message);
      await client.expect("452 4.3.1 ");
    } finally {
      clearInterval(sampler);
    }
    sample();
    console.log(`daemon idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`);
    assertTrue(
      peak - idle < RSS_GROWTH_BOUND_MB,
      `peak RSS ${peak.toFixed(0)} MB, ${(peak - idle).toFixed(0)} MB over the idle ` +
        `${idle.toFixed(0)} MB, more than ${RSS_GROWTH_BOUND_MB} MB`,
    );

    // The held messages end and are queued; what they and the refused ones held is free
    // again for the next message.
    for (const client of holders) {
      await client.send("BDAT 0 LAST");
      await client.expect("250 2.0.0 ");
    }
    assertMatch(await sendByData(port, "after@example.test", message), /^250 2\.0\.0 /);

    // Only the accepted messages were queued, and they are delivered whole.
    await queueDrained(dir);
    const sizes: number[] = [];
    for await (const entry of Deno.readDir(`${dir}/mail/new`)) {
      sizes.push((await Deno.stat(`${dir}/mail/new/${entry.name}`)).size);
    }
    assertEquals(sizes.length, HELD + 1);
    // Whole: a Maildir's lines end in LF, so it has one byte fewer per line (385,000).
    const whole = MESSAGE_BYTES * 0.98;
    for (const size of sizes) assertTrue(size > whole, `a delivered message has ${size} bytes`);
    assertMatch(daemon.log(), /not queued: the sessions hold all the message data they may/);
  } finally {
    for (const client of holders) client.close();
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});
