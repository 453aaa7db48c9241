// STARTTLS and SMTPS with a real certificate: real handshakes from Deno's client,
// nodemailer and openssl s_client, and the refusals around them.

import nodemailer from "nodemailer";
import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { contentText, startDialogueServer } from "./_server.ts";

const certificate = await testCertificate();
const ignore = !certificate;
if (ignore) {
  console.log("TLS tests skipped: openssl is not installed (it makes the test certificate)");
}
const certificates = certificate ? [certificate] : [];
const trust = { hostname: "mx.example.test", caCerts: certificate ? [certificate.ca] : [] };

Deno.test({
  name: "STARTTLS is offered, upgrades the session and requires EHLO again",
  ignore,
  async fn() {
    await using server = await startDialogueServer({ tls: { mode: "starttls", certificates } });
    await using client = await server.greeted();
    await client.send("EHLO client.test");
    assertStringIncludes(await client.reply(), "250-STARTTLS\r\n");
    await client.send("STARTTLS");
    assertEquals(await client.reply(), "220 2.0.0 Ready to start TLS");
    await client.startTls(trust);
    await client.send("MAIL FROM:<a@client.test>");
    await client.expect("503 5.5.1 "); // RFC 3207 §4.2: the session starts over
    await client.send("EHLO client.test");
    const ehlo = await client.reply();
    assertEquals(ehlo.includes("STARTTLS"), false, "no STARTTLS once encrypted");
    await client.send("STARTTLS");
    // OpenSMTPD's smtp_check_starttls().
    assertEquals(await client.reply(), "503 5.5.1 Invalid command: Channel already secured");
    await client.startData("a@client.test", ["u@example.test"]);
    await client.sendRaw("Subject: tls\r\n\r\nsecret\r\n.\r\n");
    await client.expect("250 ");
    assertMatch(
      contentText(server.submitted[0]!),
      /with ESMTPS id [0-9a-f]{8}\r\n\t\(TLSv1\.[23]:[A-Z0-9_]+:\d+:NO\)\r\n/,
    );
  },
});

Deno.test({
  name: "commands pipelined after STARTTLS are dropped, never run inside TLS",
  ignore,
  async fn() {
    await using server = await startDialogueServer({ tls: { mode: "starttls", certificates } });
    await using client = await server.greeted();
    await client.sendRaw("STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\n");
    assertEquals(await client.reply(), "220 2.0.0 Ready to start TLS");
    await client.startTls(trust);
    await client.send("NOOP");
    // Had the injected MAIL run, its 503 (no EHLO yet) would come first.
    assertEquals(await client.reply(), "250 2.0.0 Ok");
  },
});

Deno.test({
  name: "tls-require refuses MAIL before STARTTLS with 530",
  ignore,
  async fn() {
    await using server = await startDialogueServer({
      tls: { mode: "starttls-require", certificates },
    });
    await using client = await server.greeted();
    await client.send("MAIL FROM:<a@client.test>");
    assertEquals(await client.reply(), "530 5.7.0 Must issue a STARTTLS command first");
  },
});

Deno.test({
  name: "a listener without tls or auth does not offer or accept STARTTLS or AUTH",
  async fn() {
    await using server = await startDialogueServer();
    await using client = await server.greeted();
    await client.send("STARTTLS");
    assertEquals(await client.reply(), "503 5.5.1 Invalid command: Command not supported");
    await client.send("AUTH PLAIN");
    assertEquals(await client.reply(), "503 5.5.1 Invalid command: Command not supported");
  },
});

Deno.test({
  name: "SMTPS speaks TLS from the first byte",
  ignore,
  async fn() {
    await using server = await startDialogueServer({ tls: { mode: "smtps", certificates } });
    await using client = await SmtpTestClient.connectTls(server.port, trust);
    await client.expect("220 mx.example.test ESMTP");
    await client.send("EHLO client.test");
    assertEquals((await client.reply()).includes("STARTTLS"), false);
    await client.send("STARTTLS");
    assertEquals(await client.reply(), "503 5.5.1 Invalid command: Command not supported");
  },
});

Deno.test({
  name: "nodemailer sends over STARTTLS",
  ignore,
  async fn() {
    await using server = await startDialogueServer({ tls: { mode: "starttls", certificates } });
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.port,
      secure: false,
      requireTLS: true,
      name: "client.test",
      tls: { ca: [certificate!.ca], servername: "mx.example.test" },
    });
    const info = await transport.sendMail({
      from: "a@client.test",
      to: "u@example.test",
      subject: "over tls",
      text: "hello",
    });
    transport.close();
    assertMatch(info.response, /^250 2\.0\.0 [0-9a-f]{8} Message accepted for delivery$/);
    assertStringIncludes(contentText(server.submitted[0]!), "with ESMTPS id");
  },
});

Deno.test({
  name: "openssl s_client negotiates STARTTLS and SMTPS",
  ignore,
  async fn() {
    for (const mode of ["starttls", "smtps"] as const) {
      await using server = await startDialogueServer({ tls: { mode, certificates } });
      const args = [
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-servername",
        "mx.example.test",
        "-quiet",
        "-crlf",
      ];
      if (mode === "starttls") args.push("-starttls", "smtp");
      const child = new Deno.Command("openssl", {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      if (mode === "smtps") await new Promise((r) => setTimeout(r, 200));
      await writer.write(new TextEncoder().encode("EHLO client.test\nQUIT\n"));
      await writer.close();
      const output = await child.output();
      const stdout = new TextDecoder().decode(output.stdout);
      const stderr = new TextDecoder().decode(output.stderr);
      assertStringIncludes(stderr, "CN = mx.example.test", mode);
      assertStringIncludes(stdout, "221 2.0.0 Bye", mode);
      assertTrue(stdout.includes("250 HELP"), mode);
    }
  },
});

Deno.test({
  name: "tls-require verify accepts a client certificate from the ca and refuses none",
  ignore,
  async fn() {
    await using server = await startDialogueServer({
      tls: { mode: "starttls-require", certificates, verifyClient: true, ca: certificate!.ca },
    });
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/client.pem`, certificate!.clientCert);
    await Deno.writeTextFile(`${dir}/client.key`, certificate!.clientKey);
    const talk = async (withCert: boolean) => {
      const args = [
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-starttls",
        "smtp",
        "-quiet",
        "-crlf",
        "-servername",
        "mx.example.test",
        ...(withCert ? ["-cert", `${dir}/client.pem`, "-key", `${dir}/client.key`] : []),
      ];
      const child = new Deno.Command("openssl", {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(
        new TextEncoder().encode("EHLO client.test\nMAIL FROM:<a@client.test>\nQUIT\n"),
      );
      await writer.close();
      const output = await child.output();
      return new TextDecoder().decode(output.stdout);
    };
    try {
      const good = await talk(true);
      assertStringIncludes(good, "250 2.0.0 Ok");
      assertStringIncludes(good, "221 2.0.0 Bye");
      const bad = await talk(false);
      assertEquals(bad.includes("250 2.0.0 Ok"), false, bad);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "several certificates on one listener are chosen by the name the client asks for",
  ignore,
  async fn() {
    const other = (await testCertificate("other.example.test"))!;
    await using server = await startDialogueServer({
      tls: { mode: "smtps", certificates: [other, certificate!] },
    });
    // The first certificate is another name's, from another CA: only choosing by SNI
    // makes the client's verification of mx.example.test pass.
    await using client = await SmtpTestClient.connectTls(server.port, trust);
    await client.expect("220 ");
  },
});

Deno.test({
  name: "SNI picks the certificate whose names match, whatever its pki is called",
  ignore,
  async fn() {
    // OpenSMTPD hands libtls every pki's keypair; libtls matches the certificates' names.
    const other = (await testCertificate("other.example.test"))!;
    const wildcard = (await testCertificate("*.wild.example.test"))!;
    await using server = await startDialogueServer({
      tls: {
        mode: "smtps",
        certificates: [
          { ...certificate!, name: "first" },
          { ...other, name: "second" },
          { ...wildcard, name: "third" },
        ],
      },
    });
    for (
      const [hostname, ca] of [
        ["other.example.test", other.ca],
        ["mx.example.test", certificate!.ca],
        ["a.wild.example.test", wildcard.ca],
      ] as const
    ) {
      await using client = await SmtpTestClient.connectTls(server.port, {
        hostname,
        caCerts: [ca],
      });
      await client.expect("220 ");
    }
  },
});

Deno.test({
  name:
    "SMTPS clients that leave or stay silent before their handshake do not keep the listener open",
  ignore,
  async fn() {
    const server = await startDialogueServer({ tls: { mode: "smtps", certificates } });
    // A port probe: connected, then gone without a word of TLS.
    const probe = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    probe.close();
    // And one that connected and says nothing.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    // A real session after it, so the listener has surely taken the probe in.
    const client = await SmtpTestClient.connectTls(server.port, trust);
    await client.expect("220 ");
    client.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      server[Symbol.asyncDispose]().then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 15_000)),
    ]);
    clearTimeout(timer);
    silent.close();
    assertTrue(closed, "the listener still waits for a connection without a session");
  },
});

Deno.test({
  name: "an SMTPS connection that never does its handshake is closed when the timeout passes",
  ignore,
  async fn() {
    await using server = await startDialogueServer({
      tls: { mode: "smtps", certificates },
      limits: { idleTimeoutMs: 300 },
    });
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      silent.read(new Uint8Array(16)).then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 15_000)),
    ]);
    clearTimeout(timer);
    silent.close();
    assertTrue(closed, "the connection is still open");
  },
});

Deno.test({
  name: "an SMTPS client that ends with close_notify after the final dot still gets the 250",
  ignore,
  async fn() {
    await using server = await startDialogueServer({
      tls: { mode: "smtps", certificates },
      submitDelayMs: 200,
    });
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const conn = await Deno.startTls(tcp, trust);
    const script = "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<u@example.test>\r\n" +
      "DATA\r\nSubject: half-closed\r\n\r\nbody\r\n.\r\n";
    await conn.write(new TextEncoder().encode(script));
    await conn.closeWrite();
    let text = "";
    const buffer = new Uint8Array(4096);
    try {
      for (let n; (n = await conn.read(buffer)) !== null;) {
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
    } catch {
      // The end of the stream, however the server closed it.
    }
    conn.close();
    assertEquals(server.submitted.length, 1);
    assertMatch(text, /\r\n250 2\.0\.0 [0-9a-f]+ Message accepted for delivery\r\n$/);
  },
});
