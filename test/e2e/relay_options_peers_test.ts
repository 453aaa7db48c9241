// Relay options that shape the connection, seen by a real Postfix: `src` binds the source
// address the server records, `helo-src` names this end by that address, `mail-from`
// rewrites the envelope sender (Postfix's Return-Path), `domain` picks the next hop by the
// recipient's domain. And the server's extensions: a
// message over its SIZE limit, or UTF-8 addresses where it lacks SMTPUTF8, bounce at once.

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
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
if (missing) console.log(`relay_options_peers_test: skipped: ${missing}`);

const DOMAINS = [
  "src.test",
  "helo.test",
  "from.test",
  "routed.test",
  "small.test",
  "ascii.test",
  "utf8.test",
];

Deno.test({
  name: "relay src, helo-src and mail-from as a Postfix receiving the mail sees them",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(await selfSignedCertificate("mx.relay.test"), DOMAINS, {
      smtp: {},
      small: { options: ["message_size_limit=4000"] },
      ascii: { options: ["smtputf8_enable=no"] },
    });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-options-" });
    const far = `smtp://127.0.0.1:${postfix.ports.smtp}`;
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "src" relay host ${far} src 127.0.0.2 helo near.test
action "helo" relay host ${far} src { 127.0.0.3 } helo-src { "127.0.0.3" = "three.near.test" }
action "from" relay host ${far} mail-from "@rewritten.test"
action "routed" relay domain { "routed.test" = "${far}", "elsewhere.test" = "smtp://192.0.2.1" }
action "small" relay host smtp://127.0.0.1:${postfix.ports.small}
action "ascii" relay host smtp://127.0.0.1:${postfix.ports.ascii}
action "utf8" relay host ${far}
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@sender.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "sender.test" action "local"
${DOMAINS.map((d) => `match from any for domain "${d}" action "${d.split(".")[0]}"`).join("\n")}
`,
    );
    const lines: string[] = [];
    const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
    const daemon = await startDaemon({ config: await loadConfig(`${dir}/smtpd.conf`), log });
    const delivered = async (domain: string) => {
      const [message] = await waitFor(`the copy for ${domain} at Postfix`, async () => {
        const found = await readMaildir(`${postfix.dir}/mail/${domain}`);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      return message!.text;
    };
    const report = async (rcpt: string) =>
      (await waitFor(`alice's report about ${rcpt}`, async () => {
        const found = await readMaildir(`${dir}/mail/alice`);
        return found.find((m) => m.text.includes(`Final-Recipient: `) && m.text.includes(rcpt));
      }, 60_000)).text;
    try {
      for (const domain of DOMAINS.slice(0, 4)) {
        await sendMessage(port, {
          from: "alice@sender.test",
          to: [`bob@${domain}`],
          body: `Subject: to ${domain}\n\nx\n`,
        });
      }
      // Postfix's Received: from HELO (rdns [client address]).
      assertMatch(
        await delivered("src.test"),
        /^Received: from near\.test \([^\[]*\[127\.0\.0\.2\]\)/m,
      );
      assertMatch(
        await delivered("helo.test"),
        /^Received: from three\.near\.test \([^\[]*\[127\.0\.0\.3\]\)/m,
      );
      const rewritten = await delivered("from.test");
      assertStringIncludes(rewritten, "Return-Path: <alice@rewritten.test>");
      // `domain <table>`: the recipient domain's entry names the next hop.
      assertStringIncludes(await delivered("routed.test"), "Subject: to routed.test");

      // Postfix announces SIZE 4000 on that listener: the message is refused before MAIL.
      await sendMessage(port, {
        from: "alice@sender.test",
        to: ["bob@small.test"],
        body: `Subject: too big\n\n${"x".repeat(70)}\n`.repeat(80),
      });
      const tooBig = await report("bob@small.test");
      assertStringIncludes(tooBig, "Status: 5.3.4");
      assertStringIncludes(tooBig, "larger than the server accepts (4000)");
      // UTF-8 addresses: relayed with SMTPUTF8 where it is offered, refused where it is not.
      for (const rcpt of ["bøb@utf8.test", "bøb@ascii.test"]) {
        await using client = await SmtpTestClient.connect(port);
        await client.expect("220 ");
        await client.send("EHLO client.test");
        await client.expect("250 ");
        await client.send("MAIL FROM:<alice@sender.test> SMTPUTF8");
        await client.expect("250 ");
        await client.send(`RCPT TO:<${rcpt}>`);
        await client.expect("250 ");
        await client.send("DATA");
        await client.expect("354 ");
        await client.sendRaw("Subject: international\r\n\r\nx\r\n.\r\n");
        await client.expect("250 ");
        await client.send("QUIT");
        await client.expect("221 ");
      }
      assertStringIncludes(await delivered("utf8.test"), "Subject: international");
      const noUtf8 = await report("bøb@ascii.test");
      assertStringIncludes(noUtf8, "Status: 5.6.7");
      assertEquals(await readMaildir(`${postfix.dir}/mail/small.test`), []);
      assertEquals(await readMaildir(`${postfix.dir}/mail/ascii.test`), []);
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
