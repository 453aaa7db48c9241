// `queue flush` relays with the runtime the daemon uses: the nameserver and MX port a
// daemon is given reach the one-shot delivery pass too, so a message queued while no
// daemon runs goes to the MX host that DNS server names.

import { loadConfig, startDaemon } from "../../mod.ts";
import { openRuntime, type RuntimeSettings } from "../../src/daemon/mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { flushQueue } from "../../src/queue/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { OWN_IDS, readMaildir, waitFor } from "../_helpers.ts";
import { startDnsServer } from "../_dns_server.ts";

Deno.test("queue flush relays by MX through the nameserver and MX port the daemon is given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-flush-relay-" });
  await Deno.mkdir(`${dir}/far`);
  await Deno.writeTextFile(
    `${dir}/far/smtpd.conf`,
    `queue path "${dir}/far/queue"
listen on 127.0.0.1 port 0
action "inbox" maildir "${dir}/far/mail" virtual { "@mx.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "mx.test" action "inbox"
`,
  );
  const far = await startDaemon({
    config: await loadConfig(`${dir}/far/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  const dns = await startDnsServer({
    "mx.test": { MX: [[10, "mail.mx.test"]] },
    "mail.mx.test": { A: ["127.0.0.1"] },
  });
  // What the relay-by-MX daemon test gives startDaemon, given here to the flush instead.
  const settings: RuntimeSettings = {
    log: SILENT_LOGGER,
    dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    mxPort: far.listeners[0]!.port,
  };
  try {
    await Deno.mkdir(`${dir}/near`);
    await Deno.writeTextFile(
      `${dir}/near/smtpd.conf`,
      `queue path "${dir}/near/queue"
action "out" relay
match from local for any action "out"
`,
    );
    const config = await loadConfig(`${dir}/near/smtpd.conf`);
    // Queued as sendmail queues it, with no daemon running to deliver it.
    const enqueuer = await openRuntime(config, { log: SILENT_LOGGER });
    await enqueuer.queue.commit({
      sender: "alice@near.test",
      helo: "localhost",
      src: "local",
      content: new TextEncoder().encode("Subject: flushed by mx\r\n\r\nx\r\n"),
      envelopes: [{ rcpt: "bob@mx.test", action: "out" }],
    });
    await enqueuer.close();

    // One pass, wired as `queue flush` wires it.
    const runtime = await openRuntime(config, { ...settings, leaseOnCommit: true });
    let summary;
    try {
      summary = await flushQueue({
        queue: runtime.queue,
        deliver: runtime.deliver,
        log: SILENT_LOGGER,
        hostname: runtime.serverName,
        warnIntervals: config.bounceWarnIntervals,
        routeReport: runtime.routeReport,
      });
      assertEquals(runtime.queue.stats().queued, 0);
    } finally {
      await runtime.close();
    }
    assertEquals({ delivered: summary.delivered, deferred: summary.deferred }, {
      delivered: 1,
      deferred: 0,
    });
    assertEquals(dns.queries.includes("mx.test MX"), true);
    assertEquals(dns.queries.includes("mail.mx.test A"), true);
    const [mail] = await waitFor("the flushed message at the MX host", async () => {
      const found = await readMaildir(`${dir}/far/mail`);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(mail!.text, "Subject: flushed by mx\n");
  } finally {
    await far.stop();
    await dns.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
