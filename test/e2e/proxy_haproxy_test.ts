// `listen … proxy-v2` behind a real HAProxy sending PROXY v2 headers: the client's own
// address, not the proxy's, is what the daemon logs and writes into Received:.

import { assertMatch, assertStringIncludes } from "../assert.ts";
import {
  commandSucceeds,
  freePort,
  OWN_IDS,
  readMaildir,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";

const haveHaproxy = await commandSucceeds("haproxy", ["-v"]);
const haveSwaks = await commandSucceeds("swaks", ["--version"]);
if (!haveHaproxy) console.log("HAProxy test skipped: haproxy is not installed");
if (!haveSwaks) console.log("HAProxy test skipped: swaks is not installed");

Deno.test({
  name: "behind HAProxy with send-proxy-v2, the original client is in the log and in Received:",
  ignore: !haveHaproxy || !haveSwaks,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-haproxy-" });
    const port = freePort();
    const front = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port} proxy-v2 hostname mx.example.test
action "local" maildir "${dir}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
    );
    await Deno.writeTextFile(
      `${dir}/haproxy.cfg`,
      `global
  maxconn 64
defaults
  mode tcp
  timeout connect 10s
  timeout client 60s
  timeout server 60s
frontend smtp
  bind 127.0.0.1:${front}
  default_backend mx
backend mx
  server mx1 127.0.0.1:${port} send-proxy-v2
`,
    );
    const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
    const haproxy = new Deno.Command("haproxy", {
      args: ["-db", "-f", `${dir}/haproxy.cfg`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      await waitListening(port);
      await waitListening(front);
      // From 127.0.0.2: HAProxy itself reaches the daemon from 127.0.0.1.
      const swaks = await new Deno.Command("swaks", {
        args: [
          "--server",
          `127.0.0.1:${front}`,
          "--local-interface",
          "127.0.0.2",
          "--from",
          "a@client.test",
          "--to",
          "joe@example.test",
          "--helo",
          "client.test",
          "--header",
          "Subject: through haproxy",
          "--body",
          "proxied",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const transcript = new TextDecoder().decode(swaks.stdout);
      assertStringIncludes(transcript, "<-  250 ", "the message was accepted");
      const [message] = await waitFor("the delivery", async () => {
        const found = await readMaildir(`${dir}/Maildir`).catch(() => []);
        return found.length > 0 ? found : undefined;
      });
      assertMatch(message!.text, /^Received: from client\.test \([^)]*\[127\.0\.0\.2\]\)/m);
      assertStringIncludes(daemon.log(), " smtp connected address=127.0.0.2 ");
    } finally {
      haproxy.kill("SIGTERM");
      await haproxy.status;
      await haproxy.stderr.cancel();
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
