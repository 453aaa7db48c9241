// End to end through the daemon: a real SMTP client library, the real queue file, real
// Maildirs, and the refusals a user sees on the wire.

import nodemailer from "nodemailer";
import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

async function startFixture(extra = "") {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-e2e-" });
  const port = freePort();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
${extra}
match from any for domain "example.test" action "local"
`,
  );
  const daemon = await startDaemon({ config: await loadConfig(path), log: SILENT_LOGGER });
  return {
    dir,
    port,
    daemon,
    maildir: (user: string) => `${dir}/mail/${user}/Maildir`,
    async [Symbol.asyncDispose]() {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a message sent with nodemailer lands in the recipient's Maildir", async () => {
  await using fx = await startFixture();
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: fx.port,
    secure: false,
    ignoreTLS: true,
    name: "client.test",
  });
  const info = await transport.sendMail({
    from: "sender@client.test",
    to: "Alice@example.test",
    subject: "hello from nodemailer",
    text: "first line\n.a line starting with a dot\nlast line\n",
  });
  transport.close();
  assertMatch(info.response, /^250 2\.0\.0 [0-9a-f]{8} Message accepted for delivery$/);
  const msgid = info.response.split(" ")[2];

  const files = await waitFor("the delivery", async () => {
    const found = await readMaildir(fx.maildir("alice"));
    return found.length > 0 ? found : undefined;
  });
  assertEquals(files.length, 1);
  const text = files[0]!.text;
  const lines = text.split("\n");
  assertEquals(lines[0], "Return-Path: <sender@client.test>");
  assertEquals(lines[1], "Delivered-To: Alice@example.test");
  assertMatch(lines[2]!, /^Received: from client\.test \(.*\[127\.0\.0\.1\]\)$/);
  assertStringIncludes(text, `by mx.example.test (OpenSMTPD) with ESMTP id ${msgid}`);
  assertStringIncludes(text, "Subject: hello from nodemailer");
  assertStringIncludes(text, "\n.a line starting with a dot\n");
  assertEquals(text.includes("\r"), false, "Maildir files use LF line ends");
  await waitFor(
    "the envelope marked done",
    () => fx.daemon.queue.stats().queued === 0 || undefined,
  );
});

Deno.test("a recipient no rule accepts gets 550 and nothing is queued", async () => {
  await using fx = await startFixture();
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 mx.example.test ESMTP");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<victim@example.org>");
  assertEquals(await client.reply(), "550 5.1.1 Invalid recipient: <victim@example.org>");
  await client.send("DATA");
  await client.expect("503 ");
  await client.send("QUIT");
  await client.expect("221 ");
  assertEquals(fx.daemon.queue.stats().queued, 0);
});

Deno.test("a quoted local part with slashes and dots is delivered inside the mail store", async () => {
  await using fx = await startFixture();
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.startData("a@client.test", ['"x/../../escaped"@example.test']);
  await client.sendRaw("Subject: climb\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 ");
  const inside = `${fx.dir}/mail/"x:..:..:escaped"/Maildir`;
  const files = await waitFor("the delivery", async () => {
    const found = await readMaildir(inside);
    return found.length > 0 ? found : undefined;
  });
  assertEquals(files.length, 1);
  assertStringIncludes(files[0]!.text, "Subject: climb");
  // Where the unescaped path would have led: mail/"x/../../escaped is the scratch
  // directory's own escaped/.
  assertEquals(await Deno.stat(`${fx.dir}/escaped`).then(() => true, () => false), false);
});

Deno.test("a match … reject rule refuses before a later accepting rule", async () => {
  await using fx = await startFixture(`match from any for rcpt-to "blocked@example.test" reject`);
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("HELO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<blocked@example.test>");
  await client.expect("550 5.1.1 ");
  await client.send("RCPT TO:<open@example.test>");
  await client.expect("250 ");
});

Deno.test("one message to two recipients is one message row and two envelopes", async () => {
  await using fx = await startFixture();
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.startData("a@client.test", ["bob@example.test", "carol@example.test"]);
  await client.sendRaw("Subject: two\r\n\r\nbody\r\n.\r\n");
  await client.expect("250 2.0.0 ");
  for (const user of ["bob", "carol"]) {
    const files = await waitFor(`delivery to ${user}`, async () => {
      const found = await readMaildir(fx.maildir(user));
      return found.length > 0 ? found : undefined;
    });
    assertEquals(files.length, 1);
    assertStringIncludes(files[0]!.text, `Delivered-To: ${user}@example.test\n`);
  }
});
