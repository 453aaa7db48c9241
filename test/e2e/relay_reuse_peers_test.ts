// Many messages to one next hop share connections: 200 messages relayed to a real Postfix
// arrive over far fewer SMTP sessions than messages, as Postfix's own log counts them; and
// the recipients of one message go in one transaction (Postfix logs nrcpt=5).

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { freePort, readMaildir, sendMessage, SmtpTestClient, waitFor } from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing();
if (missing) console.log(`relay_reuse_peers_test: skipped: ${missing}`);

const MESSAGES = 200;

Deno.test({
  name:
    "200 messages to one destination share connections; one message's recipients share a transaction",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(await selfSignedCertificate("mx.relay.test"), [
      "many.test",
      "group.test",
    ], { smtp: {} });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-reuse-" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "out" relay host smtp://127.0.0.1:${postfix.ports.smtp}
match from any for domain "many.test" action "out"
match from any for domain "group.test" action "out"
`,
    );
    const daemon = await startDaemon({
      config: await loadConfig(`${dir}/smtpd.conf`),
      log: SILENT_LOGGER,
    });
    try {
      // Four client sessions of 50 messages each.
      await Promise.all([0, 1, 2, 3].map(async (n) => {
        await using client = await SmtpTestClient.connect(port);
        await client.expect("220 ");
        await client.send("EHLO client.test");
        await client.expect("250 ");
        for (let i = 0; i < MESSAGES / 4; i++) {
          await client.send("MAIL FROM:<alice@sender.test>");
          await client.expect("250 ");
          await client.send(`RCPT TO:<u${n}-${i}@many.test>`);
          await client.expect("250 ");
          await client.send("DATA");
          await client.expect("354 ");
          await client.sendRaw(`Subject: ${n}-${i}\r\n\r\nx\r\n.\r\n`);
          await client.expect("250 ");
        }
        await client.send("QUIT");
        await client.expect("221 ");
      }));
      await waitFor("every message at Postfix", async () => {
        const found = await readMaildir(`${postfix.dir}/mail/many.test`);
        return found.length >= MESSAGES || undefined;
      }, 120_000);
      assertEquals((await readMaildir(`${postfix.dir}/mail/many.test`)).length, MESSAGES);
      const log = await postfix.log();
      const connections = log.match(/postfix\/smtpd\[\d+\]: connect from /g)?.length ?? 0;
      console.log(`relay_reuse_peers_test: ${connections} connections for ${MESSAGES} messages`);
      assertTrue(connections >= 1, "Postfix saw no connection");
      assertTrue(
        connections <= MESSAGES / 5,
        `${connections} connections for ${MESSAGES} messages`,
      );

      // One message, five recipients of one domain: one transaction with five RCPTs.
      const group = ["a", "b", "c", "d", "e"].map((u) => `${u}@group.test`);
      await sendMessage(port, {
        from: "carol@sender.test",
        to: group,
        body: "Subject: five\n\nx\n",
      });
      await waitFor("the five copies at Postfix", async () => {
        const found = await readMaildir(`${postfix.dir}/mail/group.test`);
        return found.length >= 5 || undefined;
      }, 60_000);
      const queued = (await postfix.log()).split("\n").filter((l) =>
        l.includes("from=<carol@sender.test>") && l.includes("nrcpt=")
      );
      assertEquals(queued.map((l) => /nrcpt=(\d+)/.exec(l)?.[1]), ["5"]);
    } finally {
      await daemon.stop();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
