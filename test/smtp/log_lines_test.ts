// The session's log lines as OpenSMTPD 7.x writes them (smtp_session.c), line for line,
// through STARTTLS, a failed and a good AUTH, refused commands and a message.

import { assertEquals, assertMatch } from "../assert.ts";
import type { Logger } from "../../src/log/mod.ts";
import { testCertificate } from "../_certificate.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import { startDialogueServer } from "./_server.ts";

const certificate = await testCertificate();
const ignore = !certificate;
if (ignore) console.log("log line test skipped: openssl is not installed (test certificate)");

Deno.test({
  name:
    "a session logs OpenSMTPD's connected, tls, failed-command, authentication, message, envelope and disconnected lines",
  ignore,
  async fn() {
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    await using server = await startDialogueServer({
      log,
      tls: { mode: "starttls", certificates: [certificate!] },
      auth: {
        required: false,
        check: (user, password) => Promise.resolve({ ok: user === "joe" && password === "right" }),
      },
    });
    await using client = await server.greeted();
    await client.send("STARTTLS");
    await client.expect("220 ");
    await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.send("FROB");
    const frob = await client.expect("500 ");
    await client.send(`AUTH PLAIN ${btoa("\0joe\0wrong")}`);
    const denied = await client.expect("535 ");
    await client.send(`AUTH PLAIN ${btoa("\0joe\0right")}`);
    await client.expect("235 ");
    await client.send("MAIL FROM:<a@client.test>");
    await client.expect("250 ");
    await client.send("RCPT TO:<x@nowhere.test>");
    const refused = await client.expect("550 ");
    await client.send("RCPT TO:<u@example.test>");
    await client.expect("250 ");
    await client.send("DATA");
    await client.expect("354 ");
    await client.sendRaw("Subject: log\r\n\r\nbody\r\n.\r\n");
    const accepted = await client.expect("250 ");
    await client.send("QUIT");
    await client.expect("221 ");
    await waitFor("the disconnected line", () => lines.find((l) => l.includes(" disconnected")));

    const message = server.submitted[0]!;
    const id = lines[0]!.split(" ")[0]!;
    assertMatch(id, /^[0-9a-f]{16}$/);
    const ours = lines.filter((l) => l.startsWith(`${id} smtp `));
    const tls = ours.find((l) => l.includes(" smtp tls "));
    assertMatch(tls ?? "", new RegExp(`^${id} smtp tls ciphers=TLSv1\\.[23]:\\S+:\\d+$`));
    assertEquals(ours.filter((l) => l !== tls), [
      `${id} smtp connected address=127.0.0.1 host=<unknown>`,
      `${id} smtp failed-command command="FROB" result="${frob}"`,
      `${id} smtp authentication user=joe result=permfail`,
      `${id} smtp failed-command command="AUTH PLAIN (...)" result="${denied}"`,
      `${id} smtp authentication user=joe result=ok`,
      `${id} smtp failed-command command="RCPT TO:<x@nowhere.test>" result="${refused}"`,
      `${id} smtp message msgid=${message.msgid} size=${message.content.byteLength} nrcpt=1 proto=ESMTP`,
      `${id} smtp envelope evpid=${
        message.envelopes[0]!.evpid
      } from=<a@client.test> to=<u@example.test>`,
      `${id} smtp disconnected reason=quit`,
    ]);
    assertEquals(accepted.split(" ")[2], message.msgid);
    // The password never reaches the log.
    assertEquals(lines.some((l) => l.includes(btoa("\0joe\0wrong"))), false);
  },
});

Deno.test("a client that hangs up is logged as reason=disconnect", async () => {
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  await using server = await startDialogueServer({ log });
  const client = await server.greeted();
  client.close();
  const line = await waitFor(
    "the disconnected line",
    () => lines.find((l) => l.includes(" disconnected")),
  );
  assertMatch(line, /^[0-9a-f]{16} smtp disconnected reason=disconnect$/);
});

Deno.test({
  name: "an SMTPS session logs its tls line right after connected",
  ignore,
  async fn() {
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    await using server = await startDialogueServer({
      log,
      tls: { mode: "smtps", certificates: [certificate!] },
    });
    await using client = await SmtpTestClient.connectTls(server.port, {
      hostname: "mx.example.test",
      caCerts: [certificate!.ca],
    });
    await client.expect("220 ");
    await client.send("QUIT");
    await client.expect("221 ");
    await waitFor("the disconnected line", () => lines.find((l) => l.includes(" disconnected")));
    const events = lines.map((l) => l.split(" ").slice(1, 3).join(" "));
    assertEquals(events, ["smtp connected", "smtp tls", "smtp disconnected"]);
    assertMatch(lines[1]!, /^[0-9a-f]{16} smtp tls ciphers=TLSv1\.[23]:\S+:\d+$/);
  },
});

Deno.test({
  name: "a TLS handshake that fails after STARTTLS is logged with its error as the reason",
  ignore,
  async fn() {
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    await using server = await startDialogueServer({
      log,
      tls: { mode: "starttls", certificates: [certificate!] },
    });
    await using client = await server.greeted();
    await client.send("STARTTLS");
    await client.expect("220 ");
    // Plain text where the ClientHello should be.
    await client.sendRaw("EHLO client.test\r\n");
    const line = await waitFor(
      "the disconnected line",
      () => lines.find((l) => l.includes(" disconnected")),
    );
    assertMatch(line, /^[0-9a-f]{16} smtp disconnected reason="io-error: handshake failed: .+"$/);
  },
});

Deno.test("a session that times out logs only its disconnected line, reason=timeout", async () => {
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  await using server = await startDialogueServer({ log, limits: { idleTimeoutMs: 150 } });
  await using client = await server.greeted();
  assertEquals(await client.reply(), "421 4.4.2 mx.example.test Timeout, closing connection");
  await waitFor("the disconnected line", () => lines.find((l) => l.includes(" disconnected")));
  const events = lines.map((l) => l.split(" ").slice(1).join(" "));
  assertEquals(events, [
    "smtp connected address=127.0.0.1 host=<unknown>",
    "smtp disconnected reason=timeout",
  ]);
});

Deno.test({
  name: "a malformed AUTH LOGIN step is logged as the step, never with what the client sent",
  ignore,
  async fn() {
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    await using server = await startDialogueServer({
      log,
      tls: { mode: "starttls", certificates: [certificate!] },
      auth: { required: false, check: () => Promise.resolve({ ok: false }) },
    });
    await using client = await server.greeted();
    await client.send("STARTTLS");
    await client.expect("220 ");
    await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.send("AUTH LOGIN");
    await client.expect("334 ");
    await client.send("!!secret-user!!");
    const user = await client.expect("501 ");
    await client.send(`AUTH LOGIN ${btoa("joe")}`);
    await client.expect("334 ");
    await client.send("!!secret-password!!");
    const password = await client.expect("501 ");
    await client.send("QUIT");
    await client.expect("221 ");
    await waitFor("the disconnected line", () => lines.find((l) => l.includes(" disconnected")));
    const failed = lines.filter((l) => l.includes(" failed-command "))
      .map((l) => l.split(" ").slice(2).join(" "));
    assertEquals(failed, [
      `failed-command command="AUTH LOGIN (username)" result="${user}"`,
      `failed-command command="AUTH LOGIN (password)" result="${password}"`,
    ]);
    assertEquals(lines.some((l) => l.includes("secret")), false);
  },
});
