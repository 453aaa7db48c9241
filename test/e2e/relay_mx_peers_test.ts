// Relaying by MX through a DNS server of the test's own, to a real Postfix: an unreachable
// primary passes the mail to the next MX host; `backup mx NAME` tries only the hosts the
// domain prefers over this one, and refuses to relay where this host is the best.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startDnsServer } from "../_dns_server.ts";
import { freePort, OWN_IDS, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing();
if (missing) console.log(`relay_mx_peers_test: skipped: ${missing}`);

const DOMAINS = ["failover.test", "primary.test", "backup.test", "loop.test"];

Deno.test({
  name: "relay by MX: failover past a dead primary, and backup mx that tries only better hosts",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(await selfSignedCertificate("mx1.relay.test"), DOMAINS, {
      smtp: {},
    });
    const dns = await startDnsServer({
      "dead.relay.test": { A: ["127.0.0.2"] },
      "mx1.relay.test": { A: ["127.0.0.1"] },
      "near.relay.test": { A: ["127.0.0.3"] },
      "failover.test": { MX: [[10, "dead.relay.test"], [20, "mx1.relay.test"]] },
      "primary.test": { MX: [[10, "mx1.relay.test"], [20, "near.relay.test"]] },
      "backup.test": {
        MX: [[10, "dead.relay.test"], [20, "near.relay.test"], [30, "mx1.relay.test"]],
      },
      "loop.test": { MX: [[10, "near.relay.test"], [20, "mx1.relay.test"]] },
    });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-mx-" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@sender.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "mx" relay
action "backup" relay backup mx "near.relay.test"
match from any for domain "sender.test" action "local"
match from any for domain "failover.test" action "mx"
match from any for domain { "primary.test", "backup.test", "loop.test" } action "backup"
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    const daemon = await startDaemon({
      config: await loadConfig(`${dir}/smtpd.conf`),
      log,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      // Every MX host is reached on Postfix's port; 127.0.0.2 has nothing listening there.
      mxPort: postfix.ports.smtp!,
    });
    const delivered = async (domain: string) => {
      const [message] = await waitFor(`the copy for ${domain} at Postfix`, async () => {
        const found = await readMaildir(`${postfix.dir}/mail/${domain}`);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      return message!.text;
    };
    try {
      for (const domain of DOMAINS) {
        await sendMessage(port, {
          from: "alice@sender.test",
          to: [`bob@${domain}`],
          body: `Subject: to ${domain}\n\nx\n`,
        });
      }
      assertStringIncludes(await delivered("failover.test"), "Subject: to failover.test");
      assertStringIncludes(
        lines.find((l) => l.includes("to dead.relay.test [127.0.0.2:")) ?? "(no line)",
        "failed: ",
      );
      assertStringIncludes(await delivered("primary.test"), "Subject: to primary.test");
      // This host is the best MX of loop.test: a report, not a loop.
      const report = await waitFor("alice's report about loop.test", async () => {
        const found = await readMaildir(`${dir}/mail/alice`);
        return found.find((m) => m.text.includes("bob@loop.test"));
      }, 60_000);
      assertStringIncludes(report.text, "Status: 5.4.6");
      // backup.test: only the dead primary is better than this host, so the mail waits.
      await waitFor(
        "the deferral of backup.test",
        () => lines.find((l) => l.includes("TempFail") && l.includes("bob@backup.test")),
        60_000,
      );
      assertEquals(await readMaildir(`${postfix.dir}/mail/backup.test`), []);
      assertEquals(lines.some((l) => l.includes("bob@backup.test") && l.includes("mx1")), false);
    } catch (error) {
      console.log(lines.join("\n"));
      throw error;
    } finally {
      await daemon.stop();
      await dns.stop();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
