// The `tls-policy` action option as an operator writes it in smtpd.conf, with a file table,
// through the daemon: a `verify` destination whose MX shows a self-signed certificate
// waits and the log says why and which policy applied; a `none` destination goes in clear;
// a destination the table does not list goes opportunistically.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startDnssecServer } from "../_dnssec_server.ts";
import { freePort, sendMessage, waitFor } from "../_helpers.ts";
import { selfSignedCertificate } from "../_peers.ts";
import { startStartTlsServer } from "../_starttls_server.ts";

const missing = await selfSignedCertificate("mx.policy.test").then(
  () => undefined,
  () => "openssl is missing",
);
if (missing) console.log(`tls_policy_daemon_test: skipped: ${missing}`);

Deno.test({
  name: "tls-policy <file table> in smtpd.conf: verify waits, none goes in clear, the rest may",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-tls-policy-" });
    const cert = await selfSignedCertificate("mx.policy.test");
    const smtp = await startStartTlsServer(cert);
    const domains = ["strict.test", "open.test", "other.test"];
    const dns = await startDnssecServer({
      "mx.policy.test": { A: ["127.0.0.1"] },
      ...Object.fromEntries(domains.map((d) => [d, { MX: [[10, "mx.policy.test"]] }])),
    });
    await Deno.writeTextFile(`${dir}/policy`, "strict.test verify\nopen.test none\n");
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
table policy file:${dir}/policy
listen on 127.0.0.1 port ${port}
action "out" relay tls-policy <policy>
match from any for domain { ${domains.map((d) => `"${d}"`).join(", ")} } action "out"
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    const daemon = await startDaemon({
      config: await loadConfig(`${dir}/smtpd.conf`),
      log,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      mxPort: smtp.port,
    });
    try {
      for (const domain of domains) {
        await sendMessage(port, {
          from: "a@sender.test",
          to: [`bob@${domain}`],
          body: "Subject: x\n\nx\n",
        });
      }
      const received = (domain: string) =>
        waitFor(
          `the message to ${domain}`,
          () => smtp.messages.find((m) => m.recipients.includes(`bob@${domain}`)),
          60_000,
        );
      assertEquals((await received("open.test")).tls, false);
      assertEquals((await received("other.test")).tls, true);
      const deferred = await waitFor(
        "the deferral of strict.test",
        () => lines.find((l) => l.includes("bob@strict.test") && l.includes("TempFail")),
        60_000,
      );
      assertStringIncludes(deferred, "4.7.5 certificate of mx.policy.test not verified");
      const all = lines.join("\n");
      assertStringIncludes(all, 'tls-policy=verify (tls-policy "policy" strict.test verify)');
      assertStringIncludes(all, 'tls-policy=none (tls-policy "policy" open.test none)');
      assertStringIncludes(all, "tls-policy=may (opportunistic; the MX records of other.test");
      assertEquals(smtp.messages.some((m) => m.recipients.includes("bob@strict.test")), false);
    } catch (error) {
      console.log(lines.join("\n"));
      throw error;
    } finally {
      await daemon.stop();
      await smtp.stop();
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
