// What smtpctl shows of the relay after real relaying (a second daemon as the MX host of
// one domain, nothing at all listening for another): show hosts, routes, relays and
// hoststats in OpenSMTPD's text and as JSON, and the `mta delivery` lines naming the relay.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { OWN_IDS, readMaildir, sendMessage, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctlJson, smtpctlOk } from "./_smtpctl.ts";

async function writeConf(dir: string, name: string, text: string): Promise<string> {
  await Deno.mkdir(`${dir}/${name}`, { recursive: true });
  const path = `${dir}/${name}/smtpd.conf`;
  await Deno.writeTextFile(path, `queue path "${dir}/${name}/queue"\n${text}`);
  return path;
}

function lineOf(log: string, what: string): string | undefined {
  return log.split("\n").find((l) => l.includes(" mta delivery ") && l.includes(what));
}

function closedPort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

Deno.test("smtpctl show hosts/routes/relays/hoststats and mta delivery lines after relaying", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-state-" });
  await Deno.chmod(dir, 0o755);
  const far = await startDaemon({
    config: await loadConfig(
      await writeConf(
        dir,
        "far",
        `listen on 127.0.0.1 port 0
action "inbox" maildir "${dir}/far/mail" virtual { "bob@mx.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for rcpt-to { "bob@mx.test" } action "inbox"
`,
      ),
    ),
    log: SILENT_LOGGER,
  });
  const port = closedPort();
  // Nothing listens on 127.0.0.2: its connections are refused.
  const deadPort = closedPort();
  const nearConf = await writeConf(
    dir,
    "near",
    `listen on 127.0.0.1 port ${port}
action "out" relay host smtp://127.0.0.1:${far.listeners[0]!.port}
action "dead" relay host smtp://127.0.0.2:${deadPort}
match from any for domain "mx.test" action "out"
match from any for domain "dead.test" action "dead"
`,
  );
  await Deno.chmod(nearConf, 0o644);
  const near = spawnLoggedDaemon(nearConf);
  const log = () => near.log();
  const mail = (to: string) => ({
    from: "alice@near.test",
    to: [to],
    body: `Subject: ${to}\n\nx\n`,
  });
  try {
    await waitFor("the near daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/near/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);
    // Refused first, then delivered: the domain's last status is the delivery.
    await sendMessage(port, mail("nobody@mx.test"));
    const refused = await waitFor("the refusal logged", () => lineOf(log(), "nobody@mx.test"));
    await sendMessage(port, mail("bob@mx.test"));
    await sendMessage(port, mail("carol@dead.test"));
    const delivered = await waitFor("the delivery logged", () => lineOf(log(), "bob@mx.test"));
    const deferred = await waitFor("the deferral logged", () => lineOf(log(), "carol@dead.test"));
    await waitFor("bob's mail at the MX host", async () => {
      const found = await readMaildir(`${dir}/far/mail`);
      return found.length > 0 ? found : undefined;
    });

    // mta_log: the host that answered as `ADDRESS (NAME)`, the source address, its reply.
    assertMatch(
      delivered,
      /[0-9a-f]{16} mta delivery evpid=[0-9a-f]{16} from=<alice@near\.test> to=<bob@mx\.test> rcpt=<bob@mx\.test> source="127\.0\.0\.1" relay="127\.0\.0\.1" delay=\d+s result="Ok" stat="250 [^"]+"$/,
    );
    assertMatch(
      refused,
      / source="127\.0\.0\.1" relay="127\.0\.0\.1" delay=\d+s result="PermFail" stat="5\d\d [^"]+"$/,
    );
    // No host could be reached: the relay's domain stands in for one (mta.c's mta_flush).
    assertMatch(deferred, / source="-" relay="127\.0\.0\.2" delay=\d+s result="TempFail" stat="/);

    const hosts = (await smtpctlOk(nearConf, ["show", "hosts"])).trimEnd().split("\n");
    assertEquals(hosts.length, 2, hosts.join("\n"));
    assertMatch(hosts[0]!, /^127\.0\.0\.1 127\.0\.0\.1 refcount=1 nconn=[01] lastconn=\d+s$/);
    assertMatch(hosts[1]!, /^127\.0\.0\.2 127\.0\.0\.2 refcount=1 nconn=0 lastconn=-$/);
    const hostsJson = await smtpctlJson<{ address: string; name: string; nconn: number }[]>(
      nearConf,
      ["show", "hosts"],
    );
    assertEquals(hostsJson.map((h) => [h.address, h.name]), [
      ["127.0.0.1", "127.0.0.1"],
      ["127.0.0.2", "127.0.0.2"],
    ]);

    // The route that worked is no longer new; the refused one is, with its error counted.
    const routes = (await smtpctlOk(nearConf, ["show", "routes"])).trimEnd().split("\n");
    assertEquals(routes.length, 2, routes.join("\n"));
    assertTrue(
      routes.some((r) =>
        /^\d+\. \[\] <-> 127\.0\.0\.1 ---- nconn=[01] nerror=0 penalty=0 timeout=-$/
          .test(r)
      ),
      routes.join("\n"),
    );
    assertTrue(
      routes.some((r) =>
        /^\d+\. \[\] <-> 127\.0\.0\.2 N--- nconn=0 nerror=1 penalty=0 timeout=-$/
          .test(r)
      ),
      routes.join("\n"),
    );
    const routesJson = await smtpctlJson<{ destination: string; lastError?: string }[]>(
      nearConf,
      ["show", "routes"],
    );
    const deadRoute = routesJson.find((r) => r.destination.includes("127.0.0.2"));
    assertMatch(deadRoute?.lastError ?? "", /127\.0\.0\.2/);

    // Each relay (one per MX domain here) with its connector, the system's source address.
    const relays = (await smtpctlOk(nearConf, ["show", "relays"])).trimEnd().split("\n");
    assertEquals(relays.length, 4, relays.join("\n"));
    assertMatch(
      relays[0]!,
      /^\[relay:127\.0\.0\.1,port=\d+,smtp,mx\] refcount=1 ntask=0 nconn=[01] lastconn=\d+s timeout=- wait=$/,
    );
    assertMatch(
      relays[1]!,
      /^ {2}connector \[\] refcount=1 nconn=[01] lastconn=\d+s timeout=- flags=$/,
    );
    assertMatch(
      relays[2]!,
      /^\[relay:127\.0\.0\.2,port=\d+,smtp,mx\] refcount=1 ntask=0 nconn=0 lastconn=- timeout=- wait=$/,
    );
    assertEquals(relays[3], "  connector [] refcount=1 nconn=0 lastconn=- timeout=- flags=");

    // The last delivery to mx.test was bob's; dead.test never got as far as a reply.
    const stats = (await smtpctlOk(nearConf, ["show", "hoststats"])).trimEnd().split("\n");
    assertEquals(stats.length, 1, stats.join("\n"));
    assertMatch(stats[0]!, /^mx\.test\|\d{10}\|250 /);
    const statsJson = await smtpctlJson<{ domain: string; time: number; status: string }[]>(
      nearConf,
      ["show", "hoststats"],
    );
    assertEquals(statsJson.map((s) => s.domain), ["mx.test"]);
    assertTrue(Math.abs(statsJson[0]!.time - Date.now() / 1000) < 600, "a recent time");
  } finally {
    near.child.kill("SIGTERM");
    await near.exited();
    await far.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
