// DSN through a relay (RFC 3461): NOTIFY, ORCPT, RET and ENVID go on to a server that
// offers DSN, which then owns the success report; to one that does not, the parameters
// stay here and a sender who asked for SUCCESS gets an "Action: relayed" report.
// The receiving servers are scripted on real sockets and record what they were sent.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";

// An SMTP server that takes everything and keeps every command line it was sent.
function startRecorder(offerDsn: boolean) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const serve = async (conn: Deno.Conn) => {
    const encoder = new TextEncoder();
    const say = (text: string) => conn.write(encoder.encode(text)).catch(() => 0);
    await say("220 recorder.test ESMTP\r\n");
    const decoder = new TextDecoder();
    let buffer = "";
    let inData = false;
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) break;
      buffer += decoder.decode(chunk.subarray(0, n));
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            await say("250 2.0.0 queued\r\n");
          }
          continue;
        }
        lines.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          await say(
            `250-recorder.test\r\n250-PIPELINING\r\n${
              offerDsn ? "250-DSN\r\n" : ""
            }250 8BITMIME\r\n`,
          );
        } else if (verb === "DATA") {
          inData = true;
          await say("354 go on\r\n");
        } else if (verb === "QUIT") {
          await say("221 bye\r\n");
          conn.close();
          return;
        } else await say("250 ok\r\n");
      }
    }
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  const accepting = (async () => {
    for await (const conn of listener) serve(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    lines,
    async stop() {
      listener.close();
      await accepting;
    },
  };
}

async function sendWithDsn(
  port: number,
  rcpt: string,
  subject: string,
  orcpt = "rfc822;orig+2Bbox@example.test",
) {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<alice@example.test> RET=HDRS ENVID=env+2Bid");
  await client.expect("250 ");
  await client.send(
    `RCPT TO:<${rcpt}> NOTIFY=SUCCESS,FAILURE ORCPT=${orcpt}`,
  );
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw(`Subject: ${subject}\r\n\r\nx\r\n.\r\n`);
  await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
}

Deno.test("relay: DSN parameters go on where DSN is offered; a relayed report where it is not", async () => {
  const withDsn = startRecorder(true);
  const withoutDsn = startRecorder(false);
  const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-dsn-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "dsn" relay host smtp://127.0.0.1:${withDsn.port}
action "plain" relay host smtp://127.0.0.1:${withoutDsn.port}
match from any for domain "example.test" action "local"
match from any for domain "dsn.test" action "dsn"
match from any for domain "plain.test" action "plain"
`,
  );
  const daemon = await startDaemon({
    config: await loadConfig(`${dir}/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  const reports = async () =>
    (await readMaildir(`${dir}/mail/alice`)).filter((m) => m.text.includes("Final-Recipient:"));
  try {
    await sendWithDsn(port, "bob@dsn.test", "to a DSN server");
    await waitFor(
      "the message at the DSN server",
      () => withDsn.lines.some((l) => l === "DATA") || undefined,
    );
    const mail = withDsn.lines.find((l) => l.startsWith("MAIL FROM:"));
    const rcpt = withDsn.lines.find((l) => l.startsWith("RCPT TO:"));
    assertStringIncludes(mail!, "MAIL FROM:<alice@example.test>");
    assertStringIncludes(mail!, " RET=HDRS");
    assertStringIncludes(mail!, " ENVID=env+2Bid");
    assertEquals(
      rcpt,
      "RCPT TO:<bob@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bbox@example.test",
    );

    await sendWithDsn(port, "carol@plain.test", "to a server without DSN");
    await waitFor(
      "the message at the plain server",
      () => withoutDsn.lines.some((l) => l === "DATA") || undefined,
    );
    assertEquals(
      withoutDsn.lines.find((l) => l.startsWith("RCPT TO:")),
      "RCPT TO:<carol@plain.test>",
    );
    assertEquals(
      withoutDsn.lines.find((l) => l.startsWith("MAIL FROM:")),
      "MAIL FROM:<alice@example.test>",
    );
    const [relayed] = await waitFor("the relayed report", async () => {
      const found = await reports();
      return found.length > 0 ? found : undefined;
    }, 30_000);
    assertStringIncludes(relayed!.text, "Final-Recipient: rfc822; carol@plain.test");
    assertStringIncludes(relayed!.text, "Action: relayed");
    assertStringIncludes(relayed!.text, "Status: 2.0.0");
    assertStringIncludes(relayed!.text, "Original-Envelope-Id: env+id");
    // The DSN server's success is its own to report: none about bob came from here, and
    // it would have been queued before carol's message was even sent.
    assertEquals((await reports()).filter((m) => m.text.includes("bob@dsn.test")).length, 0);
    assertEquals((await reports()).length, 1);
  } finally {
    await daemon.stop();
    await withDsn.stop();
    await withoutDsn.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("relay: a utf-8 ORCPT goes on in RFC 6533's 7-bit form", async () => {
  const withDsn = startRecorder(true);
  const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-dsn-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "dsn" relay host smtp://127.0.0.1:${withDsn.port}
match from any for domain "dsn.test" action "dsn"
`,
  );
  const daemon = await startDaemon({
    config: await loadConfig(`${dir}/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  try {
    // "+" and "\\" are no QCHARs: they go as \\x{2B} and \\x{5C}, as "ö" and "ü" do.
    await sendWithDsn(
      port,
      "bob@dsn.test",
      "utf-8 orcpt",
      "utf-8;j\\x{F6}rg\\x{2B}1@b\\x{FC}cher.test",
    );
    await waitFor(
      "the message at the DSN server",
      () => withDsn.lines.some((l) => l === "DATA") || undefined,
    );
    assertEquals(
      withDsn.lines.find((l) => l.startsWith("RCPT TO:")),
      "RCPT TO:<bob@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=utf-8;j\\x{F6}rg\\x{2B}1@b\\x{FC}cher.test",
    );
  } finally {
    await daemon.stop();
    await withDsn.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
