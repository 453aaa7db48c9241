// DANE behind a real validating resolver: unbound serves a zone the test signs with
// ldns-signzone (its trust anchor the zone's own DS) and an unsigned one; the daemon relays
// by MX through it. A matching TLSA record delivers over TLS, a mismatching one defers, a
// zone whose signatures were tampered with (SERVFAIL) defers, and the unsigned zone's TLSA
// record is ignored.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { queryDns } from "../../src/dns/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { freePort, sendMessage, waitFor } from "../_helpers.ts";
import { startStartTlsServer, tlsaData } from "../_starttls_server.ts";

const TOOLS = ["unbound", "ldns-keygen", "ldns-signzone", "openssl"];
const missing = TOOLS.filter((tool) => !onPath(tool));
const skip = missing.length > 0 ? `${missing.join(", ")} not installed` : undefined;
if (skip) console.log(`dane_unbound_test: skipped: ${skip}`);

function onPath(tool: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return true;
    } catch {
      // Not here.
    }
  }
  return false;
}

async function run(cwd: string, command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!output.success) throw new Error(`${command}: ${text.decode(output.stderr)}`);
  return text.decode(output.stdout).trim();
}

const SOA = (zone: string) =>
  `$ORIGIN ${zone}.\n$TTL 300\n@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300\n` +
  `@ IN NS ns.${zone}.\nns IN A 127.0.0.1\n`;

/** Signs `zone` in dir; returns the signed file's name and the DS of its key-signing key. */
async function signZone(dir: string, zone: string, body: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/${zone}.zone`, SOA(zone) + body);
  const ksk = await run(dir, "ldns-keygen", ["-a", "ECDSAP256SHA256", "-k", zone]);
  const zsk = await run(dir, "ldns-keygen", ["-a", "ECDSAP256SHA256", zone]);
  await run(dir, "ldns-signzone", [`${zone}.zone`, zsk, ksk]);
  return await Deno.readTextFile(`${dir}/${ksk}.ds`);
}

Deno.test({
  name: "DANE through a validating unbound over a zone the test signs",
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-dane-unbound-" });
    const cert = (await testCertificate("mx.signed.test"))!;
    const other = (await testCertificate("other.test"))!;
    const good = await tlsaData(cert.cert, 1, 1);
    const wrong = await tlsaData(other.cert, 1, 1);
    const mx = (name: string, tlsa: string) =>
      `${name} IN MX 10 mx.${name}\nmx.${name} IN A 127.0.0.1\n_25._tcp.mx.${name} IN TLSA 3 1 1 ${tlsa}\n`;
    const anchors = [
      await signZone(
        dir,
        "signed.test",
        `@ IN MX 10 mx\nmx IN A 127.0.0.1\n_25._tcp.mx IN TLSA 3 1 1 ${good}\n` +
          mx("wrong", wrong),
      ),
      await signZone(
        dir,
        "bogus.test",
        mx("@", good).replaceAll("mx.@", "mx").replace(/^@ IN MX 10 mx\.@/m, "@ IN MX 10 mx"),
      ),
    ];
    // Tampering after signing: the signature over the MX record no longer verifies.
    const bogus = await Deno.readTextFile(`${dir}/bogus.test.zone.signed`);
    await Deno.writeTextFile(
      `${dir}/bogus.test.zone.signed`,
      bogus.replace(/(\sIN\s+MX\s+)10(\s)/, "$120$2"),
    );
    await Deno.writeTextFile(
      `${dir}/unsigned.test.zone`,
      SOA("unsigned.test") +
        `@ IN MX 10 mx\nmx IN A 127.0.0.1\n_25._tcp.mx IN TLSA 3 1 1 ${wrong}\n`,
    );
    await Deno.writeTextFile(`${dir}/anchors.ds`, anchors.join("\n"));
    const dnsPort = freePort();
    const zoneBlock = (name: string, file: string) =>
      `auth-zone:\n  name: "${name}."\n  zonefile: "${dir}/${file}"\n  for-upstream: yes\n  for-downstream: no\n  fallback-enabled: no\n`;
    await Deno.writeTextFile(
      `${dir}/unbound.conf`,
      `server:
  interface: 127.0.0.1
  port: ${dnsPort}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: "${dir}/unbound.log"
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  trust-anchor-file: "${dir}/anchors.ds"
  module-config: "validator iterator"
  do-not-query-localhost: no
  # RFC 6761 reserves test.; unbound answers it NXDOMAIN unless told otherwise.
  local-zone: "test." nodefault
${zoneBlock("signed.test", "signed.test.zone.signed")}${
        zoneBlock("bogus.test", "bogus.test.zone.signed")
      }${zoneBlock("unsigned.test", "unsigned.test.zone")}`,
    );
    const unbound = new Deno.Command("unbound", {
      args: ["-d", "-c", `${dir}/unbound.conf`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const nameServer = { ipAddr: "127.0.0.1", port: dnsPort };
    const smtp = await startStartTlsServer(cert);
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "mx" relay
match from any for domain { "signed.test", "wrong.signed.test", "bogus.test", "unsigned.test" } action "mx"
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
    try {
      // Validating: the answer for the signed zone carries the AD bit.
      const answer = await waitFor("unbound to answer", async () => {
        const a = await queryDns("signed.test", "MX", { nameServer, timeoutMs: 1_000 }).catch(
          () => undefined,
        );
        return a?.rcode === "NOERROR" ? a : undefined;
      }, 60_000);
      assertEquals(answer.secure, true);
      assertEquals((await queryDns("unsigned.test", "MX", { nameServer })).secure, false);
      assertEquals((await queryDns("bogus.test", "MX", { nameServer })).rcode, "SERVFAIL");
      daemon = await startDaemon({
        config: await loadConfig(`${dir}/smtpd.conf`),
        log,
        dns: { nameServer },
        mxPort: smtp.port,
      });
      for (const domain of ["signed.test", "wrong.signed.test", "bogus.test", "unsigned.test"]) {
        await sendMessage(port, {
          from: "alice@sender.test",
          to: [`bob@${domain}`],
          body: `Subject: to ${domain}\n\nx\n`,
        });
      }
      const received = (domain: string) =>
        waitFor(
          `the message to ${domain}`,
          () => smtp.messages.find((m) => m.recipients.includes(`bob@${domain}`)),
          60_000,
        );
      assertEquals((await received("signed.test")).tls, true);
      assertEquals((await received("unsigned.test")).tls, true);
      await waitFor(
        "the deferral of wrong.signed.test",
        () => lines.find((l) => l.includes("DANE check of mx.wrong.signed.test failed")),
        60_000,
      );
      await waitFor(
        "the deferral of bogus.test",
        () => lines.find((l) => l.includes("bogus.test") && l.includes("TempFail")),
        60_000,
      );
      const all = lines.join("\n");
      assertStringIncludes(all, "tls-policy=dane (DANE: 1 usable TLSA at _25._tcp.mx.signed.test)");
      assertStringIncludes(all, "the MX records of unsigned.test are not DNSSEC-validated");
      assertEquals(
        smtp.messages.some((m) => m.recipients.some((r) => /wrong|bogus/.test(r))),
        false,
      );
    } catch (error) {
      console.log(lines.join("\n"));
      throw error;
    } finally {
      await daemon?.stop();
      await smtp.stop();
      unbound.kill("SIGTERM");
      await unbound.output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
