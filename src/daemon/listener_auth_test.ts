// SMTP AUTH (RFC 4954) over STARTTLS as a listener offers it: PLAIN and LOGIN against a
// credentials table holding bcrypt and SHA-512 crypt hashes, the refusals, and the senders
// a user owns by ownsSender().

import nodemailer from "nodemailer";
import bcrypt from "bcryptjs";
import { hashPassword, tableAuthenticator } from "../auth/mod.ts";
import { ownsSender } from "./listener_auth.ts";
import { StaticTable } from "../tables/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { contentText, startDialogueServer } from "../../test/smtp/_server.ts";

const certificate = await testCertificate();
const ignore = !certificate;
if (ignore) console.log("AUTH tests skipped: openssl is not installed (TLS comes first)");
const trust = { hostname: "mx.example.test", caCerts: certificate ? [certificate.ca] : [] };

const credentials = new StaticTable("creds", "map", [
  ["alice", hashPassword("wonderland")],
  ["bob", bcrypt.hashSync("builder", 4)],
  ["carol", "$y$j9T$yescrypt$notsupported"],
]);
const senders = new StaticTable("senders", "map", [["alice", "alice@example.test, @alice.test"]]);

function server(required = true, masquerade = false) {
  return startDialogueServer({
    tls: { mode: "starttls", certificates: certificate ? [certificate] : [] },
    auth: {
      required,
      check: tableAuthenticator(credentials),
      senderAllowed: (user, sender) => ownsSender(senders.lookup("mailaddrmap", user), sender),
      inReceived: true,
      ...(masquerade ? { masquerade: true } : {}),
    },
  });
}

const b64 = (text: string) => btoa(text);

async function secured(port: number) {
  const { SmtpTestClient } = await import("../../test/_helpers.ts");
  const client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  const before = await client.reply();
  await client.send("STARTTLS");
  await client.expect("220 ");
  await client.startTls(trust);
  await client.send("EHLO client.test");
  const after = await client.reply();
  return { client, before, after };
}

Deno.test({
  name: "AUTH is offered only over TLS, and required before MAIL",
  ignore,
  async fn() {
    await using srv = await server();
    const { client, before, after } = await secured(srv.port);
    await using _ = client;
    assertEquals(before.includes("AUTH"), false);
    assertStringIncludes(after, "250-AUTH PLAIN LOGIN\r\n");
    await client.send("MAIL FROM:<alice@example.test>");
    assertEquals(await client.reply(), "530 5.7.0 Must issue an AUTH command first");
  },
});

Deno.test({
  name: "AUTH before TLS is not offered",
  ignore,
  async fn() {
    await using srv = await server();
    await using client = await srv.greeted();
    await client.send(`AUTH PLAIN ${b64("\0alice\0wonderland")}`);
    assertEquals(await client.reply(), "503 5.5.1 Invalid command: Command not supported");
  },
});

Deno.test({
  name: "AUTH PLAIN with an initial response and with a prompt, SHA-512 and bcrypt",
  ignore,
  async fn() {
    await using srv = await server();
    {
      const { client } = await secured(srv.port);
      await using _ = client;
      await client.send(`AUTH PLAIN ${b64("\0alice\0wonderland")}`);
      assertEquals(await client.reply(), "235 2.0.0 Authentication succeeded");
      await client.send(`AUTH PLAIN ${b64("\0alice\0wonderland")}`);
      assertEquals(await client.reply(), "503 5.5.1 Invalid command: Already authenticated");
    }
    const { client } = await secured(srv.port);
    await using _ = client;
    await client.send("AUTH PLAIN");
    assertEquals(await client.reply(), "334 ");
    await client.send(b64("\0bob\0builder"));
    assertEquals(await client.reply(), "235 2.0.0 Authentication succeeded");
  },
});

Deno.test({
  name: "AUTH LOGIN asks for user name and password",
  ignore,
  async fn() {
    await using srv = await server();
    const { client } = await secured(srv.port);
    await using _ = client;
    await client.send("AUTH LOGIN");
    assertEquals(await client.reply(), "334 VXNlcm5hbWU6");
    await client.send(b64("alice"));
    assertEquals(await client.reply(), "334 UGFzc3dvcmQ6");
    await client.send(b64("wonderland"));
    assertEquals(await client.reply(), "235 2.0.0 Authentication succeeded");
  },
});

Deno.test({
  name: "bad credentials get 535, three failures close the session, cancel and junk get 501",
  ignore,
  async fn() {
    await using srv = await server();
    const { client } = await secured(srv.port);
    await using _ = client;
    await client.send("AUTH LOGIN");
    await client.expect("334 ");
    await client.send("*");
    assertEquals(await client.reply(), "501 5.7.0 Authentication cancelled");
    await client.send("AUTH PLAIN not-base64!");
    assertEquals(await client.reply(), "501 5.5.2 Syntax error in authentication data");
    await client.send("AUTH CRAM-MD5");
    assertEquals(await client.reply(), "504 5.5.4 Unrecognized authentication type");
    await client.send(`AUTH PLAIN ${b64("\0alice\0wrong")}`);
    assertEquals(await client.reply(), "535 5.7.8 Authentication failed");
    await client.send(`AUTH PLAIN ${b64("\0carol\0anything")}`); // unsupported hash: fails closed
    assertEquals(await client.reply(), "535 5.7.8 Authentication failed");
    await client.send(`AUTH PLAIN ${b64("\0nobody\0x")}`);
    assertEquals(await client.reply(), "535 5.7.8 Authentication failed");
    assertEquals(
      await client.reply(),
      "421 4.7.0 Too many authentication failures, closing connection",
    );
    assertTrue(await client.closedByServer());
  },
});

Deno.test({
  name: "an authenticated user may only send as the addresses the senders table gives",
  ignore,
  async fn() {
    await using srv = await server();
    const { client } = await secured(srv.port);
    await using _ = client;
    await client.send(`AUTH PLAIN ${b64("\0alice\0wonderland")}`);
    await client.expect("235 ");
    await client.send("MAIL FROM:<bob@example.test>");
    assertEquals(
      await client.reply(),
      "553 5.7.1 Sender address rejected: not owned by the authenticated user",
    );
    for (const sender of ["alice@example.test", "Alice+list@example.test", "any@alice.test"]) {
      await client.send(`MAIL FROM:<${sender}>`);
      await client.expect("250 ");
      await client.send("RSET");
      await client.expect("250 ");
    }
  },
});

Deno.test({
  name: "nodemailer authenticates with PLAIN and LOGIN and relays as the user",
  ignore,
  async fn() {
    await using srv = await server();
    for (const method of ["PLAIN", "LOGIN"]) {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: srv.port,
        secure: false,
        requireTLS: true,
        name: "client.test",
        auth: { user: "alice", pass: "wonderland", method },
        tls: { ca: [certificate!.ca], servername: "mx.example.test" },
      });
      const info = await transport.sendMail({
        from: "alice@example.test",
        to: "someone@far.test",
        subject: `auth ${method}`,
        text: "hello",
      });
      transport.close();
      assertMatch(info.response, /^250 2\.0\.0 [0-9a-f]{8} Message accepted for delivery$/);
    }
    const text = contentText(srv.submitted[0]!);
    assertMatch(
      text,
      /with ESMTPSA id [0-9a-f]{8}\r\n\t\(TLSv1\.[23]:[^)]+\) auth=yes user=alice\r\n/,
    );
    assertEquals(srv.submitted[0]!.envelopes[0]!.action, "relay");
  },
});

Deno.test({
  name: "senders … masquerade shows the envelope sender in From:",
  ignore,
  async fn() {
    await using srv = await server(true, true);
    const { client } = await secured(srv.port);
    await using _ = client;
    await client.send(`AUTH PLAIN ${b64("\0alice\0wonderland")}`);
    await client.expect("235 ");
    await client.startData("alice@example.test", ["someone@far.test"]);
    await client.sendRaw("From: The Boss <boss@example.test>\r\nSubject: hi\r\n\r\nx\r\n.\r\n");
    await client.expect("250 ");
    assertStringIncludes(
      contentText(srv.submitted[0]!),
      "\r\nFrom: The Boss <alice@example.test>\r\n",
    );
  },
});
