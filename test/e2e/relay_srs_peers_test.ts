// SRS through a real Postfix: mail for a forwarding address whose sender is elsewhere
// leaves with an SRS0 sender under the forwarding domain, and a bounce Postfix would send
// back to that address is taken at RCPT, mapped back and delivered to the original
// sender; a forged address is refused, one signed with the backup key still passes.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { srsEncode } from "../../src/relay/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  readMaildir,
  sendMessage,
  SmtpTestClient,
  waitFor,
} from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing();
if (missing) console.log(`relay_srs_peers_test: skipped: ${missing}`);

Deno.test({
  name:
    "relay srs: Postfix receives an SRS0 sender, and a bounce to it reaches the original sender",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(
      await selfSignedCertificate("mx.srs.test"),
      ["far.test", "origin.test"],
      { smtp: {} },
    );
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-srs-" });
    const far = `smtp://127.0.0.1:${postfix.ports.smtp}`;
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
srs key "current-secret"
srs key backup "older-secret"
listen on 127.0.0.1 port ${port}
action "forward" maildir "${dir}/mail/%{rcpt.user}" virtual { "bob@fwd.test" = "carol@far.test", "@fwd.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "out" relay host ${far} srs
match from any for domain "fwd.test" action "forward"
match from local for domain "far.test" action "out"
match from local for domain "origin.test" action "out"
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    const daemon = await startDaemon({ config: await loadConfig(`${dir}/smtpd.conf`), log });
    const arrived = async (domain: string, count = 1) =>
      await waitFor(`${count} message(s) for ${domain} at Postfix`, async () => {
        const found = await readMaildir(`${postfix.dir}/mail/${domain}`);
        return found.length >= count ? found : undefined;
      }, 60_000);
    try {
      await sendMessage(port, {
        from: "alice@origin.test",
        to: ["bob@fwd.test"],
        body: "Subject: forwarded\n\nfor bob, now at far.test\n",
      });
      const [forwarded] = await arrived("far.test");
      // Postfix writes the envelope sender it received as Return-Path.
      const returnPath = forwarded!.text.match(/^Return-Path: <([^>]*)>/m)?.[1] ?? "";
      assertMatch(returnPath, /^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=origin\.test=alice@fwd\.test$/);
      assertStringIncludes(forwarded!.text, "Subject: forwarded");

      // The bounce comes back to the SRS address from the null sender.
      await sendMessage(port, {
        from: "",
        to: [returnPath],
        body: "Subject: Undelivered Mail Returned to Sender\n\ncarol is gone\n",
      });
      const [bounce] = await arrived("origin.test");
      assertStringIncludes(bounce!.text, "Subject: Undelivered Mail Returned to Sender");
      assertStringIncludes(bounce!.text, "Return-Path: <>");
      assertStringIncludes(bounce!.text, "Delivered-To: alice@origin.test");

      // A changed hash and an unknown key are refused at RCPT; the backup key's passes.
      const forged = returnPath.replace(/^SRS0=..../, "SRS0=AAAA");
      const otherKey = srsEncode("alice@origin.test", "fwd.test", { key: "someone-else" });
      const backup = srsEncode("alice@origin.test", "fwd.test", { key: "older-secret" });
      await using client = await SmtpTestClient.connect(port);
      await client.expect("220 ");
      await client.send("EHLO bouncer.test");
      await client.expect("250 ");
      await client.send("MAIL FROM:<>");
      await client.expect("250 ");
      for (const bad of [forged, otherKey]) {
        await client.send(`RCPT TO:<${bad}>`);
        assertStringIncludes(await client.expect("550 "), "Invalid SRS address");
      }
      await client.send(`RCPT TO:<${backup}>`);
      await client.expect("250 ");
      await client.send("DATA");
      await client.expect("354 ");
      await client.sendRaw("Subject: second bounce\r\n\r\nx\r\n.\r\n");
      await client.expect("250 ");
      await client.send("QUIT");
      await client.expect("221 ");
      const both = await arrived("origin.test", 2);
      assertEquals(both.filter((m) => m.text.includes("Subject: second bounce")).length, 1);
      // Nothing was delivered to an SRS0 mailbox here.
      assertEquals(await readMaildir(`${dir}/mail/vmail`), []);
    } catch (error) {
      console.log(lines.join("\n"));
      console.log(await postfix.log());
      throw error;
    } finally {
      await daemon.stop();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
