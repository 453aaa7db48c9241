// Relaying to a real Postfix over TLS as MTAs do it: opportunistic STARTTLS delivers to a
// self-signed certificate without checking it; `tls` refuses that certificate (the mail
// waits); `tls no-verify` delivers; smtp+tls:// with `ca` verifies; a listener that
// demands a client certificate gets the one `pki` names, and refuses a session without.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { startDnsServer } from "../_dns_server.ts";
import { freePort, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing() ?? (await testCertificate() ? undefined : "openssl is missing");
if (missing) console.log(`relay_tls_peers_test: skipped: ${missing}`);

/** A logger that keeps the lines, for what the operator reads. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
}

const DOMAINS = [
  "system.test",
  "opp.test",
  "must.test",
  "noverify.test",
  "signed.test",
  "ccert.test",
  "noccert.test",
];

Deno.test({
  name: "relay over TLS to Postfix: opportunistic, tls, tls no-verify, ca and a client certificate",
  ignore: missing !== undefined,
  async fn() {
    const signed = (await testCertificate("mx.relay.test"))!;
    const selfSigned = await selfSignedCertificate("mx.relay.test");
    const postfix = await startPostfix(selfSigned, DOMAINS, {
      selfsigned: {},
      signed: { cert: signed.cert, key: signed.key },
      ccert: { cert: signed.cert, key: signed.key, clientCa: signed.ca },
    });
    const dns = await startDnsServer({ "mx.relay.test": { A: ["127.0.0.1"] } });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-tls-" });
    await Deno.writeTextFile(`${dir}/ca.pem`, signed.ca);
    await Deno.writeTextFile(`${dir}/client.pem`, signed.clientCert);
    await Deno.writeTextFile(`${dir}/client.key`, signed.clientKey);
    const host = (listener: string) => `mx.relay.test:${postfix.ports[listener]}`;
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
ca "testca" cert "${dir}/ca.pem"
pki "client" cert "${dir}/client.pem"
pki "client" key "${dir}/client.key"
listen on 127.0.0.1 port ${port}
action "opp" relay host smtp://${host("selfsigned")}
action "must" relay host smtp://${host("selfsigned")} tls
action "noverify" relay host smtp://${host("selfsigned")} tls no-verify
action "signed" relay host smtp+tls://${host("signed")} ca "testca"
action "system" relay host smtp+tls://${host("signed")}
action "ccert" relay host smtp+tls://${host("ccert")} ca "testca" pki "client"
action "noccert" relay host smtp+tls://${host("ccert")} ca "testca"
${DOMAINS.map((d) => `match from any for domain "${d}" action "${d.split(".")[0]}"`).join("\n")}
`,
    );
    // The system trust store as an administrator points OpenSSL at it: here, the test CA.
    const previousStore = Deno.env.get("SSL_CERT_FILE");
    Deno.env.set("SSL_CERT_FILE", `${dir}/ca.pem`);
    const log = recordingLogger();
    const daemon = await startDaemon({
      config: await loadConfig(`${dir}/smtpd.conf`),
      log,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    });
    try {
      for (const domain of DOMAINS) {
        await sendMessage(port, {
          from: "alice@sender.test",
          to: [`bob@${domain}`],
          body: `Subject: to ${domain}\n\nover TLS\n`,
        });
      }
      const delivered = async (domain: string) => {
        const [message] = await waitFor(`the copy for ${domain} at Postfix`, async () => {
          const found = await readMaildir(`${postfix.dir}/mail/${domain}`);
          return found.length > 0 ? found : undefined;
        }, 60_000);
        return message!.text;
      };
      // Opportunistic: TLS with an unchecked certificate, said so in the log.
      assertMatch(await delivered("opp.test"), /using TLSv1\.[23] with cipher/);
      const oppSession = log.lines.find((l) =>
        l.includes(`connected to mx.relay.test [127.0.0.1:${postfix.ports.selfsigned}]`)
      );
      assertMatch(oppSession ?? "", /tls version=TLSv1\.[23] cipher=\S+ certificate=unverified/);
      assertMatch(await delivered("noverify.test"), /using TLSv1\.[23] with cipher/);
      assertMatch(await delivered("signed.test"), /using TLSv1\.[23] with cipher/);
      // smtp+tls:// without `ca`: verified against the system store ($SSL_CERT_FILE).
      assertMatch(await delivered("system.test"), /using TLSv1\.[23] with cipher/);
      assertTrueLine(
        log.lines,
        `connected to mx.relay.test [127.0.0.1:${postfix.ports.signed}]`,
        "certificate=verified",
      );

      // The client certificate Postfix asked for and verified against the test CA.
      const withCert = await delivered("ccert.test");
      assertMatch(withCert, /Client CN "client\.test", Issuer "Test CA" \(verified OK\)/);

      // `tls` refuses the self-signed certificate; without `pki` the ccert listener refuses us.
      const must = await waitFor(
        "the deferral of must.test",
        () => log.lines.find((l) => l.includes("TempFail") && l.includes("bob@must.test")),
        60_000,
      );
      assertStringIncludes(must, "4.7.5 certificate of mx.relay.test not verified");
      await waitFor(
        "the deferral of noccert.test",
        () => log.lines.find((l) => l.includes("TempFail") && l.includes("bob@noccert.test")),
        60_000,
      );
      assertEquals(await readMaildir(`${postfix.dir}/mail/must.test`), []);
      assertEquals(await readMaildir(`${postfix.dir}/mail/noccert.test`), []);
      // Both still wait in the queue for another try. The delivered envelopes leave it when
      // their results are recorded, a moment after the peer has the mail: wait for that.
      const waiting = await waitFor("the delivered envelopes to leave the queue", () => {
        const rcpts = daemon.queue.envelopes().map((e) => e.rcpt).sort();
        return rcpts.length <= 2 ? rcpts : undefined;
      }, 60_000);
      assertEquals(waiting, ["bob@must.test", "bob@noccert.test"]);
    } catch (error) {
      console.log(log.lines.join("\n"));
      console.log(await postfix.log());
      throw error;
    } finally {
      if (Deno.env.get("SMTPD_TEST_LOG")) console.log(log.lines.join("\n"));
      if (previousStore === undefined) Deno.env.delete("SSL_CERT_FILE");
      else Deno.env.set("SSL_CERT_FILE", previousStore);
      await daemon.stop();
      await dns.stop();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function assertTrueLine(lines: string[], where: string, what: string): void {
  const line = lines.find((l) => l.includes(where));
  assertStringIncludes(line ?? `(no line with "${where}")`, what);
}
