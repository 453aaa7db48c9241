// AUTH to a smarthost and LMTP through the client core, against real servers: a Postfix
// that takes mail on a TLS-only (smtps) listener from authenticated clients only, checking
// passwords with Dovecot; and Dovecot's LMTP server, read back over its IMAP server.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { startDnsServer } from "../_dns_server.ts";
import { freePort, OWN_IDS, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { imapFetchAll, peersMissing, startDovecot, startPostfix } from "../_peers.ts";

const missing = peersMissing() ??
  (await testCertificate() ? undefined : "openssl is missing") ??
  (await hasPython() ? undefined : "python3 (imaplib) is missing");
if (missing) console.log(`relay_auth_lmtp_peers_test: skipped: ${missing}`);

async function hasPython(): Promise<boolean> {
  try {
    return (await new Deno.Command("python3", { args: ["-V"], stdout: "null" }).output()).success;
  } catch {
    return false;
  }
}

const PASSWORD = "correct horse";

Deno.test({
  name: "AUTH to a TLS-only smarthost (right secret delivers, wrong one waits) and LMTP to Dovecot",
  ignore: missing !== undefined,
  async fn() {
    const signed = (await testCertificate("mx.relay.test"))!;
    const dovecot = await startDovecot(PASSWORD);
    const postfix = await startPostfix(signed, ["ok.test", "bad.test"], {
      submit: { wrapperMode: true, saslPort: dovecot.ports.auth! },
    }).catch(async (error) => {
      await dovecot.stop();
      throw error;
    });
    const dns = await startDnsServer({ "mx.relay.test": { A: ["127.0.0.1"] } });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-auth-" });
    await Deno.writeTextFile(`${dir}/ca.pem`, signed.ca);
    const smarthost = `mx.relay.test:${postfix.ports.submit}`;
    const lmtp = `127.0.0.1:${dovecot.ports.lmtp!}`;
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
ca "testca" cert "${dir}/ca.pem"
table secrets { good = "bob:${PASSWORD}", bad = "bob:not the password" }
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@sender.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "good" relay host smtps://good@${smarthost} auth <secrets> ca "testca"
action "bad" relay host smtps://bad@${smarthost} auth <secrets> ca "testca"
action "dovecot" lmtp "${lmtp}" rcpt-to virtual { "@dovecot.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "dovecot-relay" relay host lmtp://${lmtp}
match from any for domain "sender.test" action "local"
match from any for domain "ok.test" action "good"
match from any for domain "bad.test" action "bad"
match from any for domain "dovecot.test" action "dovecot"
match from any for domain "relayed.test" action "dovecot-relay"
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    const daemon = await startDaemon({
      config: await loadConfig(`${dir}/smtpd.conf`),
      log,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    });
    try {
      const send = (to: string, subject: string) =>
        sendMessage(port, {
          from: "alice@sender.test",
          to: [to],
          body: `Subject: ${subject}\n\n..a line that starts with a dot\n`,
        });
      await send("bob@ok.test", "with the right secret");
      await send("bob@bad.test", "with the wrong secret");
      await send("bob@dovecot.test", "by lmtp");
      await send("bob@relayed.test", "relayed over lmtp");

      // The right secret: Postfix took it as bob's, over TLS.
      const [accepted] = await waitFor("the authenticated copy at Postfix", async () => {
        const found = await readMaildir(`${postfix.dir}/mail/ok.test`);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      assertStringIncludes(accepted!.text, "Subject: with the right secret");
      assertStringIncludes(accepted!.text, "(Authenticated sender: bob)");
      assertMatch(accepted!.text, /using TLSv1\.[23] with cipher/);
      assertStringIncludes(accepted!.text, "\n.a line that starts with a dot\n");

      // The wrong one: deferred with Postfix's 535, and no report to alice meanwhile.
      const deferred = /to=<bob@bad\.test>.*TempFail.*535 5\.7\.8 Error: authentication failed/;
      await waitFor(
        "the deferral of bob@bad.test",
        () => lines.some((l) => deferred.test(l)) || undefined,
        60_000,
      );
      const reports = await readMaildir(`${dir}/mail/alice`);
      assertEquals(reports.filter((m) => m.text.includes("bob@bad.test")), []);
      assertEquals(await readMaildir(`${postfix.dir}/mail/bad.test`), []);

      // Both LMTP paths end in bob's INBOX, read back over IMAP.
      const inbox = await waitFor("both messages in Dovecot", async () => {
        const found = await imapFetchAll(dovecot.ports.imap!, "bob", PASSWORD);
        return found.length >= 2 ? found : undefined;
      }, 60_000);
      const byLmtp = inbox.find((m) => m.includes("Subject: by lmtp"));
      const relayed = inbox.find((m) => m.includes("Subject: relayed over lmtp"));
      assertStringIncludes(byLmtp ?? "(missing)", "Delivered-To: bob@dovecot.test");
      assertStringIncludes(byLmtp ?? "(missing)", "\r\n.a line that starts with a dot\r\n");
      assertStringIncludes(relayed ?? "(missing)", "Delivered-To: bob@relayed.test");
      assertStringIncludes(lines.join("\n"), "auth=bob");
    } catch (error) {
      console.log(lines.join("\n"));
      console.log(await postfix.log());
      console.log(await dovecot.log());
      throw error;
    } finally {
      if (Deno.env.get("SMTPD_TEST_LOG")) console.log(lines.join("\n"));
      await daemon.stop();
      await dns.stop();
      await postfix.stop();
      await dovecot.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
