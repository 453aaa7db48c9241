// Many messages to one next hop share connections: 200 messages relayed to a real Postfix
// arrive over far fewer SMTP sessions than messages, as Postfix's own log counts them.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { freePort, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing();
if (missing) console.log(`relay_reuse_peers_test: skipped: ${missing}`);

const MESSAGES = 200;

Deno.test({
  name: "200 messages to one destination go over far fewer connections than messages",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(await selfSignedCertificate("mx.relay.test"), [
      "many.test",
    ], { smtp: {} });
    const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-reuse-" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "out" relay host smtp://127.0.0.1:${postfix.ports.smtp}
match from any for domain "many.test" action "out"
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
    } finally {
      await daemon.stop();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
