// Reloading smtpd.conf in a running daemon (SIGHUP, smtpctl reload): a session opened
// before the reload finishes its message under the rules it started with while a new
// session gets the new ones; an added listener opens and a removed one closes; a renewed
// certificate is served; a file with errors is refused whole, its errors logged as
// FILE:LINE:COL, and the configuration before it keeps serving.

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { OWN_IDS, SmtpTestClient, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctl } from "./_smtpctl.ts";

async function openssl(args: string[], stdin?: "null"): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("openssl", {
      args,
      stdin: stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

// A self-signed certificate for mx.example.test; its SHA-256 fingerprint.
async function makeCertificate(dir: string, name: string): Promise<string | undefined> {
  const made = await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${dir}/${name}.key`,
    "-out",
    `${dir}/${name}.pem`,
    "-days",
    "2",
    "-subj",
    "/CN=mx.example.test",
    "-addext",
    "subjectAltName=DNS:mx.example.test",
  ]);
  if (made === undefined) return undefined;
  return fingerprintOf(
    await openssl(["x509", "-in", `${dir}/${name}.pem`, "-noout", "-fingerprint", "-sha256"]),
  );
}

function fingerprintOf(text: string | undefined): string | undefined {
  return text?.match(/Fingerprint=([0-9A-F:]+)/i)?.[1];
}

// The fingerprint of the certificate the listener serves after STARTTLS.
async function servedFingerprint(port: number): Promise<string | undefined> {
  const child = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-starttls",
      "smtp",
      "-servername",
      "mx.example.test",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const shown = new TextDecoder().decode((await child.output()).stdout);
  const pem = shown.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!pem) return undefined;
  const x509 = new Deno.Command("openssl", {
    args: ["x509", "-noout", "-fingerprint", "-sha256"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = x509.stdin.getWriter();
  await writer.write(new TextEncoder().encode(pem));
  await writer.close();
  return fingerprintOf(new TextDecoder().decode((await x509.output()).stdout));
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

function configuration(dir: string, o: { ports: number[]; rcpt: string; cert: string }): string {
  return `queue path "${dir}/queue"
pki mx.example.test cert "${dir}/${o.cert}.pem"
pki mx.example.test key "${dir}/${o.cert}.key"
${
    o.ports.map((p) =>
      `listen on 127.0.0.1 port ${p} tls pki mx.example.test hostname mx.example.test`
    ).join("\n")
  }
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for rcpt-to regex "^${o.rcpt}[0-9]*@example\\.test$" action "local"
`;
}

async function rcptReply(port: number, rcpt: string): Promise<string> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send(`RCPT TO:<${rcpt}>`);
  return (await client.reply()).slice(0, 3);
}

async function refused(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch {
    return true;
  }
}

Deno.test("a reload changes rules, listeners and certificates for new sessions only; a broken file changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const before = await makeCertificate(dir, "old");
  const after = await makeCertificate(dir, "new");
  if (!before || !after) {
    console.log("reload test skipped: openssl is not installed (it makes the certificates)");
    await Deno.remove(dir, { recursive: true });
    return;
  }
  const [first, added] = [freePort(), freePort()];
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(conf, configuration(dir, { ports: [first], rcpt: "old", cert: "old" }));
  const daemon = spawnLoggedDaemon(conf);
  try {
    await waitFor("the daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);
    assertEquals(await servedFingerprint(first), before);

    // A session opened under the old rules, its first recipient accepted.
    await using early = await SmtpTestClient.connect(first);
    await early.expect("220 ");
    await early.send("EHLO client.test");
    await early.expect("250 ");
    await early.send("MAIL FROM:<a@client.test>");
    await early.expect("250 ");
    await early.send("RCPT TO:<old1@example.test>");
    await early.expect("250 ");

    // New rules (new… only), a renewed certificate, one more listener: smtpctl reload.
    await Deno.writeTextFile(
      conf,
      configuration(dir, { ports: [first, added], rcpt: "new", cert: "new" }),
    );
    const reloaded = await smtpctl(conf, ["reload"]);
    assertEquals(reloaded.code, 0, reloaded.stderr);
    assertEquals(reloaded.stdout, "command succeeded\n");

    // The early session goes on under the rules it started with, to the end of its message.
    await early.send("RCPT TO:<old2@example.test>");
    await early.expect("250 ");
    await early.send("DATA");
    await early.expect("354 ");
    await early.sendRaw("Subject: begun before the reload\r\n\r\nbody\r\n.\r\n");
    await early.expect("250 ");
    await early.send("QUIT");
    await early.expect("221 ");
    const delivered = await waitFor("the early message in both Maildirs", () => {
      try {
        const n = [...Deno.readDirSync(`${dir}/mail/old1/new`)].length +
          [...Deno.readDirSync(`${dir}/mail/old2/new`)].length;
        return n === 2 ? n : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    assertEquals(delivered, 2);

    // New sessions get the new rules, on the old listener and the added one.
    assertEquals(await rcptReply(first, "old3@example.test"), "550");
    assertEquals(await rcptReply(first, "new1@example.test"), "250");
    assertEquals(await rcptReply(added, "new2@example.test"), "250");
    assertEquals(await servedFingerprint(first), after);
    assertEquals(await servedFingerprint(added), after);

    // A file with errors: refused whole, every error logged with its place; nothing changes.
    await Deno.writeTextFile(
      conf,
      configuration(dir, { ports: [first], rcpt: "old", cert: "old" }) +
        'match from any for nonsense action "local"\nlisten on 127.0.0.1 port banana\n',
    );
    daemon.child.kill("SIGHUP");
    const errors = await waitFor("the refused reload in the log", () => {
      const lines = daemon.log().split("\n").filter((l) => l.includes("reload refused"));
      return lines.length >= 2 ? lines : undefined;
    }, 60_000);
    assertMatch(errors[0]!, /smtpd: reload refused: .*smtpd\.conf:7:\d+: /);
    assertMatch(errors[1]!, /smtpd: reload refused: .*smtpd\.conf:8:\d+: /);
    assertEquals(await rcptReply(first, "new3@example.test"), "250");
    assertEquals(await rcptReply(added, "new4@example.test"), "250");
    // smtpctl reads the same file to find the daemon: it says what is wrong, asks the
    // daemon all the same, and the daemon refuses the reload (exit 1).
    const broken = await smtpctl(conf, ["reload"]);
    assertEquals(broken.code, 1);
    assertStringIncludes(broken.stderr, "smtpd.conf:7:");
    assertStringIncludes(broken.stderr, "has errors: asking the running daemon only");
    assertMatch(broken.stderr, /^smtpctl: .*smtpd\.conf:7:\d+: /m);

    // The listener a reload leaves out closes.
    await Deno.writeTextFile(
      conf,
      configuration(dir, { ports: [first], rcpt: "new", cert: "new" }),
    );
    daemon.child.kill("SIGHUP");
    await waitFor(
      "the removed listener closed",
      async () => (await refused(added)) || undefined,
      60_000,
    );
    assertEquals(await rcptReply(first, "new5@example.test"), "250");
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});
