// The metrics endpoint of a running daemon after a known load: promtool accepts what it
// serves, and its numbers are the ones `smtpctl show stats` prints.

import { hashPassword } from "../../src/auth/mod.ts";
import { metricOf } from "../../src/metrics/mod.ts";
import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import {
  freePort,
  OWN_IDS,
  sendMessage,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { smtpctl, smtpctlJson } from "./_smtpctl.ts";

const PROMTOOL = ["/opt/promtool/usr/bin/promtool", "/usr/bin/promtool"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const certificate = await testCertificate();
if (!PROMTOOL) console.log("promtool check skipped: promtool is not installed");
if (!certificate) console.log("metrics test skipped: openssl is not installed");

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(response.status, 200);
  return await response.text();
}

// name{labels} → value, for every sample.
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function sampleName(key: string): string {
  const m = metricOf(key);
  const labels = Object.entries(m.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
  return labels ? `${m.name}{${labels}}` : m.name;
}

Deno.test({
  name: "after a known load the endpoint passes promtool and agrees with smtpctl show stats",
  ignore: !certificate,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-metrics-" });
    const port = freePort();
    const metricsPort = freePort();
    await Deno.writeTextFile(`${dir}/cert.pem`, certificate!.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, certificate!.key);
    const conf = `${dir}/smtpd.conf`;
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"
metrics listen on 127.0.0.1 port ${metricsPort}
pki mx.example.test cert "${dir}/cert.pem"
pki mx.example.test key "${dir}/key.pem"
table creds { joe = "${hashPassword("right")}" }
listen on 127.0.0.1 port ${port} tls pki mx.example.test auth-optional <creds> hostname mx.example.test tag inbound
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
    );
    const daemon = spawnLoggedDaemon(conf);
    try {
      await waitListening(port);
      await waitListening(metricsPort);
      // The load: two messages (three envelopes), one refused recipient, one wrong
      // password over TLS.
      await sendMessage(port, {
        from: "a@client.test",
        to: ["alice@example.test"],
        body: "Subject: x\n\nx",
      });
      await sendMessage(port, {
        from: "a@client.test",
        to: ["bob@example.test", "carol@example.test"],
        body: "Subject: two\n\nhello",
      });
      {
        await using c = await SmtpTestClient.connect(port);
        await c.expect("220 ");
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.send("STARTTLS");
        await c.expect("220 ");
        await c.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.send(`AUTH PLAIN ${btoa("\0joe\0guess")}`);
        await c.expect("535 ");
        await c.send("MAIL FROM:<a@client.test>");
        await c.expect("250 ");
        await c.send("RCPT TO:<x@elsewhere.test>");
        await c.expect("550 ");
        await c.send("QUIT");
        await c.expect("221 ");
      }
      // Settled: every envelope delivered, every session closed.
      const settled = await waitFor("the load to settle", async () => {
        const s = samples(await scrape(metricsPort));
        return s.get('smtpd_deliveries_total{method="maildir",result="ok"}') === 3 &&
            s.get("smtpd_sessions_open") === 0 && s.get("smtpd_queue_envelopes") === 0
          ? s
          : undefined;
      }, 60_000);

      const text = await scrape(metricsPort);
      if (PROMTOOL) {
        const child = new Deno.Command(PROMTOOL, {
          args: ["check", "metrics"],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(text));
        await writer.close();
        const out = await child.output();
        const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assertEquals([out.success, said], [true, ""], text);
      }

      // The known load, as the endpoint counts it.
      const s = samples(text);
      // Four sessions: waitListening's probe connection is one.
      const expected: Record<string, number> = {
        smtpd_sessions_total: 4,
        'smtpd_listener_sessions_total{listener="inbound"}': 4,
        smtpd_tls_sessions_total: 1,
        'smtpd_authentications_total{result="permfail"}': 1,
        'smtpd_refused_total{command="AUTH",code="535"}': 1,
        'smtpd_refused_total{command="RCPT",code="550"}': 1,
        smtpd_messages_accepted_total: 2,
        smtpd_envelopes_accepted_total: 3,
        'smtpd_deliveries_total{method="maildir",result="ok"}': 3,
        'smtpd_queue_envelopes_by_state{state="queued"}': 0,
        "smtpd_queue_commit_seconds_count": 2,
        'smtpd_delivery_seconds_count{method="maildir"}': 3,
      };
      for (const [name, value] of Object.entries(expected)) {
        assertEquals([name, s.get(name)], [name, value], text);
      }
      assertTrue((s.get("smtpd_message_bytes_total") ?? 0) > 0);
      assertEquals(settled.get("smtpd_sessions_total"), 4);

      // smtpctl show stats reads the same counters: every key is a sample of the same value.
      const stats = await smtpctlJson<Record<string, number>>(conf, ["show", "stats"]);
      const after = samples(await scrape(metricsPort));
      const keys = Object.keys(stats).filter((k) => k !== "uptime");
      assertTrue(keys.length >= 15, JSON.stringify(stats));
      for (const key of keys) {
        assertEquals([key, after.get(sampleName(key))], [key, stats[key]]);
      }
      assertMatch(text, /^smtpd_uptime_seconds \d+$/m);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function refused(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch {
    return true;
  }
}

for (const separated of [false, true]) {
  Deno.test(
    `a reload moves, closes and opens the metrics endpoint; its counters go on${
      separated ? " (privilege separation)" : ""
    }`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "smtpd-metrics-reload-" });
      await Deno.chmod(dir, 0o755);
      const [port, first, moved] = [freePort(), freePort(), freePort()];
      const conf = `${dir}/smtpd.conf`;
      const configuration = (metricsPort?: number) =>
        `queue path "${dir}/queue"
${metricsPort ? `metrics listen on 127.0.0.1 port ${metricsPort}` : ""}
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`;
      await Deno.writeTextFile(conf, configuration(first));
      const daemon = spawnLoggedDaemon(conf, {}, { separated });
      const sessions = async (metricsPort: number) =>
        samples(await scrape(metricsPort)).get("smtpd_sessions_total");
      try {
        await waitListening(port);
        await waitListening(first);
        const before = await waitFor("the probe session counted", async () => {
          const n = await sessions(first);
          return n && n >= 1 ? n : undefined;
        });

        // Moved: the old port closes, the new one serves the same counters.
        await Deno.writeTextFile(conf, configuration(moved));
        const reloaded = await smtpctl(conf, ["reload"]);
        assertEquals([reloaded.code, reloaded.stdout], [0, "command succeeded\n"], reloaded.stderr);
        assertTrue(await refused(first), "the old metrics port still accepts");
        assertEquals(await sessions(moved), before);

        // Removed: nothing listens. Added back: it serves again, still counting.
        await Deno.writeTextFile(conf, configuration());
        assertEquals((await smtpctl(conf, ["reload"])).code, 0);
        assertTrue(await refused(moved), "a removed metrics endpoint still accepts");
        await Deno.writeTextFile(conf, configuration(first));
        assertEquals((await smtpctl(conf, ["reload"])).code, 0);
        assertEquals(await sessions(first), before);

        // A port that cannot be bound refuses the reload; the endpoint before it goes on.
        using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        await Deno.writeTextFile(conf, configuration((taken.addr as Deno.NetAddr).port));
        const refusal = await smtpctl(conf, ["reload"]);
        assertTrue(refusal.code !== 0, refusal.stdout);
        assertMatch(daemon.log(), /reload refused: the metrics endpoint cannot listen/);
        assertEquals(await sessions(first), before);
      } finally {
        daemon.child.kill("SIGTERM");
        await daemon.exited();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
