// Relay options that shape the connection, seen by a real Postfix: `src` binds the source
// address the server records, `helo-src` names this end by that address, `mail-from`
// rewrites the envelope sender (Postfix's Return-Path).

import { loadConfig, startDaemon } from "../../mod.ts";
import type { Logger } from "../../src/log/mod.ts";
import { assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { peersMissing, selfSignedCertificate, startPostfix } from "../_peers.ts";

const missing = peersMissing();
if (missing) console.log(`relay_options_peers_test: skipped: ${missing}`);

const DOMAINS = ["src.test", "helo.test", "from.test"];

Deno.test({
  name: "relay src, helo-src and mail-from as a Postfix receiving the mail sees them",
  ignore: missing !== undefined,
  async fn() {
    const postfix = await startPostfix(await selfSignedCertificate("mx.relay.test"), DOMAINS, {
      smtp: {},
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
    try {
      for (const domain of DOMAINS) {
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
