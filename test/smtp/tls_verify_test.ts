// `tls-require verify` and `smtps verify`: a client certificate the listener's ca signed
// opens the session, any other is refused before a word of SMTP (smtpd.conf(5)). Real
// handshakes from openssl s_client, and from node:tls behind a PROXY v2 header.

import { connect as connectTcp } from "node:net";
import { connect as connectTls } from "node:tls";
import type { Logger } from "../../src/log/mod.ts";
import { type ListenerTls, type SmtpListenerOptions, startSmtpServer } from "../../src/smtp/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { type KeyPair, testClientCertificates } from "../_client_certificates.ts";
import { waitFor } from "../_helpers.ts";
import { contentText, startDialogueServer } from "./_server.ts";

const server = await testCertificate();
const clients = await testClientCertificates();
const ignore = !server || !clients;
if (ignore) console.log("verify tests skipped: openssl is not installed");

const MESSAGE = [
  "EHLO client.test",
  "MAIL FROM:<a@client.test>",
  "RCPT TO:<u@example.test>",
  "DATA",
  "Subject: verified",
  "",
  "hello",
  ".",
  "QUIT",
];

function verifying(mode: ListenerTls["mode"], ca = clients?.ca): ListenerTls {
  return { mode, certificates: server ? [server] : [], verifyClient: true, ...(ca ? { ca } : {}) };
}

function recording(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  return { lines, log: { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} } };
}

// What openssl s_client shows of the server once TLS is up (with -starttls smtp it speaks
// the plain part itself), sending `lines` and reading until the server closes.
async function sClient(
  port: number,
  options: { starttls: boolean; client?: KeyPair },
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "s-client-" });
  try {
    const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-quiet", "-crlf"];
    if (options.starttls) args.push("-starttls", "smtp");
    if (options.client) {
      await Deno.writeTextFile(`${dir}/cert.pem`, options.client.cert);
      await Deno.writeTextFile(`${dir}/key.pem`, options.client.key);
      args.push("-cert", `${dir}/cert.pem`, "-key", `${dir}/key.pem`);
    }
    const child = new Deno.Command("openssl", {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    // -quiet implies -ign_eof: s_client reads on until the server closes.
    await writer.write(new TextEncoder().encode(MESSAGE.join("\n") + "\n"));
    await writer.close();
    return new TextDecoder().decode((await child.output()).stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// SMTPS behind a proxy: the PROXY v2 header, then TLS from node:tls with the certificate.
function proxiedClient(port: number, client: KeyPair): Promise<string> {
  const header = new Uint8Array([
    ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
    ...[0x21, 0x11, 0, 12, 203, 0, 113, 7, 198, 51, 100, 1, 0xc3, 0x50, 0, 25],
  ]);
  return new Promise((resolve) => {
    const tcp = connectTcp({ host: "127.0.0.1", port }, () => {
      tcp.write(header);
      const tls = connectTls({
        socket: tcp,
        cert: client.cert,
        key: client.key,
        rejectUnauthorized: false,
      });
      let text = "";
      tls.on("secureConnect", () => tls.write(MESSAGE.join("\r\n") + "\r\n"));
      tls.on("data", (data) => text += data.toString());
      tls.on("error", () => {});
      tls.on("close", () => {
        tcp.destroy();
        resolve(text);
      });
    });
    tcp.on("error", () => {});
  });
}

const REFUSED = ["selfSigned", "otherCa", "expired", "serverOnly", "chained"] as const;

Deno.test({
  name: "tls-require verify: a certificate the ca signed opens the session, Received: says YES",
  ignore,
  async fn() {
    const { lines, log } = recording();
    await using smtp = await startDialogueServer({ tls: verifying("starttls-require"), log });
    for (const client of [clients!.valid, clients!.anyUse, clients!.version1]) {
      const seen = await sClient(smtp.port, { starttls: true, client });
      assertMatch(seen, /\r\n250 2\.0\.0 [0-9a-f]+ Message accepted for delivery\r\n221 /);
    }
    assertEquals(smtp.submitted.length, 3);
    // OpenSMTPD's smtp_tls_started() line, with libtls's tls_peer_cert_hash().
    assertMatch(
      lines.find((l) => l.includes(" cert-check ")) ?? "",
      / smtp cert-check result="verified" fingerprint="SHA256:[0-9a-f]{64}"$/,
    );
    assertMatch(
      contentText(smtp.submitted[0]!),
      /with ESMTPS id [0-9a-f]{8}\r\n\t\(TLSv1\.[23]:[A-Z0-9_]+:\d+:YES\)/,
    );
  },
});

Deno.test({
  name: "tls-require verify: any other certificate is refused after STARTTLS, unanswered",
  ignore,
  async fn() {
    const { lines, log } = recording();
    await using smtp = await startDialogueServer({ tls: verifying("starttls-require"), log });
    for (const kind of REFUSED) {
      assertEquals(await sClient(smtp.port, { starttls: true, client: clients![kind] }), "", kind);
    }
    assertEquals(await sClient(smtp.port, { starttls: true }), "", "no certificate");
    assertEquals(smtp.submitted.length, 0);
    const refusals = await waitFor("the refusals' log lines", () => {
      const found = lines.filter((l) => l.includes("client certificate refused"));
      return found.length === REFUSED.length ? found : undefined;
    });
    assertStringIncludes(refusals[0]!, ' smtp disconnected reason="io-error: handshake failed: ');
    assertStringIncludes(refusals[0]!, "self-signed certificate");
  },
});

Deno.test({
  name: "smtps verify: a certificate the ca signed gets the banner, any other nothing",
  ignore,
  async fn() {
    const { lines, log } = recording();
    await using smtp = await startDialogueServer({ tls: verifying("smtps"), log });
    // A version 1 certificate too: the runtime's TLS server refused it, OpenSSL takes it.
    for (const client of [clients!.valid, clients!.version1]) {
      const seen = await sClient(smtp.port, { starttls: false, client });
      assertMatch(seen, /^220 mx\.example\.test ESMTP OpenSMTPD\r\n/);
      assertStringIncludes(seen, "Message accepted for delivery\r\n221 ");
    }
    for (const kind of REFUSED) {
      assertEquals(await sClient(smtp.port, { starttls: false, client: clients![kind] }), "", kind);
    }
    assertEquals(await sClient(smtp.port, { starttls: false }), "", "no certificate");
    assertEquals(smtp.submitted.length, 2);
    assertMatch(contentText(smtp.submitted[0]!), /:YES\)/);
    await waitFor(
      "the refusals' log lines",
      () =>
        lines.filter((l) => l.includes("client certificate refused")).length === REFUSED.length ||
        undefined,
    );
  },
});

Deno.test({
  name: "smtps verify behind proxy-v2: only a certificate the ca signed gets the banner",
  ignore,
  async fn() {
    await using smtp = await startDialogueServer({ tls: verifying("smtps"), proxyV2: true });
    const seen = await proxiedClient(smtp.port, clients!.valid);
    assertMatch(seen, /^220 mx\.example\.test ESMTP OpenSMTPD\r\n/);
    assertStringIncludes(seen, "Message accepted for delivery\r\n221 ");
    for (const kind of REFUSED) {
      assertEquals(await proxiedClient(smtp.port, clients![kind]), "", kind);
    }
    assertEquals(smtp.submitted.length, 1);
    assertMatch(contentText(smtp.submitted[0]!), /\[203\.0\.113\.7\][\s\S]*:YES\)/);
  },
});

Deno.test({
  name: "verify: an intermediate CA in the ca file lets the certificates it signed in",
  ignore,
  async fn() {
    await using smtp = await startDialogueServer({
      tls: verifying("starttls-require", clients!.caWithIntermediate),
    });
    const seen = await sClient(smtp.port, { starttls: true, client: clients!.chained });
    assertStringIncludes(seen, "Message accepted for delivery\r\n221 ");
  },
});

Deno.test({
  name: "smtps verify added by a reload refuses every client until the next start",
  ignore,
  async fn() {
    const { lines, log } = recording();
    const options: SmtpListenerOptions = {
      address: "127.0.0.1",
      port: 0,
      hostname: "mx.example.test",
      tls: { mode: "smtps", certificates: [server!] },
      decide: () => ({ kind: "reject", reason: "test" }),
      submit: () => Promise.resolve(),
      log,
    };
    const smtp = await startSmtpServer(options);
    try {
      assertMatch(await sClient(smtp.port, { starttls: false }), /^220 /);
      // A TLS server asks for no certificate: failing closed is all it can do.
      await smtp.reconfigure({ ...options, tls: verifying("smtps") });
      assertEquals(await sClient(smtp.port, { starttls: false, client: clients!.valid }), "");
      assertStringIncludes(
        lines.join("\n"),
        "verify on an SMTPS listener takes effect at the next start",
      );
    } finally {
      await smtp.close();
    }
  },
});
