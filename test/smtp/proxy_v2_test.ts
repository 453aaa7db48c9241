// `listen … proxy-v2`: a PROXY protocol v2 header before SMTP names the original client,
// which the session then stands for in its log lines and Received: header.

import type { Logger } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { contentText, startDialogueServer } from "./_server.ts";

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
// PROXY, TCP over IPv4: 203.0.113.7:50000 connected to 198.51.100.1:25.
const HEADER = new Uint8Array([
  ...SIGNATURE,
  0x21,
  0x11,
  0,
  12,
  203,
  0,
  113,
  7,
  198,
  51,
  100,
  1,
  0xc3,
  0x50,
  0,
  25,
]);

function recording(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  return { lines, log: { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} } };
}

Deno.test("proxy-v2: the client the header names is the session's, in logs and Received:", async () => {
  const { lines, log } = recording();
  await using server = await startDialogueServer({ proxyV2: true, log });
  await using client = await SmtpTestClient.connect(server.port);
  // The header and the first command in one write: what follows the header is SMTP.
  await client.sendBytes(
    new Uint8Array([...HEADER, ...new TextEncoder().encode("EHLO c.test\r\n")]),
  );
  await client.expect("220 ");
  await client.expect("250 ");
  await client.startData("a@client.test", ["u@example.test"]);
  await client.sendRaw("Subject: proxied\r\n\r\nhello\r\n.\r\n");
  await client.expect("250 ");
  assertMatch(
    contentText(server.submitted[0]!),
    /^Received: from c\.test \(.*\[203\.0\.113\.7\]\)/,
  );
  assertStringIncludes(
    await waitFor("the connected line", () => lines.find((l) => l.includes(" smtp connected "))),
    "address=203.0.113.7 ",
  );
});

Deno.test("proxy-v2: a connection without a valid header is closed unanswered, with OpenSMTPD's line", async () => {
  const { lines, log } = recording();
  await using server = await startDialogueServer({ proxyV2: true, log });
  await using client = await SmtpTestClient.connect(server.port);
  await client.send("EHLO no-header.test");
  let answer = "";
  try {
    answer = await client.reply();
  } catch (error) {
    assertStringIncludes(String(error), 'Connection closed; unread: ""');
  }
  assertEquals(answer, "", "no banner before a header");
  assertEquals(
    await waitFor("the closed line", () => lines.find((l) => l.startsWith("proxy "))),
    'proxy event=closed address=127.0.0.1 reason="protocol error (invalid signature)"',
  );
  assertEquals(server.submitted.length, 0);
});

Deno.test("proxy-v2: a LOCAL header (the proxy's health check) keeps the connection's own address", async () => {
  const { lines, log } = recording();
  await using server = await startDialogueServer({ proxyV2: true, log });
  await using client = await SmtpTestClient.connect(server.port);
  await client.sendBytes(new Uint8Array([...SIGNATURE, 0x20, 0x00, 0, 0]));
  await client.expect("220 ");
  await client.send("QUIT");
  await client.expect("221 ");
  assertStringIncludes(
    await waitFor("the connected line", () => lines.find((l) => l.includes(" smtp connected "))),
    "address=127.0.0.1 ",
  );
});

const certificate = await testCertificate();
Deno.test({
  name: "proxy-v2 on SMTPS: the header comes first, then the TLS handshake",
  ignore: !certificate,
  async fn() {
    const { lines, log } = recording();
    await using server = await startDialogueServer({
      proxyV2: true,
      log,
      tls: { mode: "smtps", certificates: certificate ? [certificate] : [] },
    });
    await using client = await SmtpTestClient.connect(server.port);
    await client.sendBytes(HEADER);
    await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
    await client.expect("220 ");
    await client.send("EHLO c.test");
    await client.expect("250 ");
    await client.startData("a@client.test", ["u@example.test"]);
    await client.sendRaw("Subject: proxied\r\n\r\nhello\r\n.\r\n");
    await client.expect("250 ");
    const content = contentText(server.submitted[0]!);
    assertMatch(content, /\[203\.0\.113\.7\]\)/);
    assertMatch(content, /with ESMTPS id/);
    assertStringIncludes(
      await waitFor("the tls line", () => lines.find((l) => l.includes(" smtp tls "))),
      "ciphers=TLSv1.",
    );
  },
});
