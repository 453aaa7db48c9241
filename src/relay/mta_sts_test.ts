// MTA-STS (RFC 8461) for delivery by MX, against a DNS server and an HTTPS policy host of
// the test's own whose certificate comes from a test CA: enforce delivers over verified TLS
// to a listed MX, and defers for an MX it does not list or a certificate that does not
// verify; testing delivers and logs; the policy is kept in the queue file and fetched again
// only when the TXT id changes.

import { createServer } from "node:https";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { type SignedZone, startDnssecServer } from "../../test/_dnssec_server.ts";
import { startStartTlsServer } from "../../test/_starttls_server.ts";
import { selfSignedCertificate } from "../../test/_peers.ts";
import type { Logger } from "../log/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { openQueue, type Queue } from "../queue/mod.ts";
import { MemoryPolicyCache, type MtaStsCache } from "./mta_sts.ts";
import { relayEnvelope } from "./relay.ts";

// The host a result came from is for its log line; these tests look at what it was.
function withoutHop(result: unknown): unknown {
  const { hop: _hop, ...rest } = (result ?? {}) as Record<string, unknown>;
  return rest;
}

const missing = await testCertificate("mx.sts.test") ? undefined : "openssl is missing";
if (missing) console.log(`mta_sts_test: skipped: ${missing}`);

/** An HTTPS server for mta-sts.DOMAIN that serves `policy()` and counts requests. */
async function startPolicyHost(domain: string, policy: () => string) {
  const cert = (await testCertificate(`mta-sts.${domain}`))!;
  const requests: string[] = [];
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    requests.push(`${req.headers.host} ${req.url}`);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(policy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    ca: cert.ca,
    port: (server.address() as { port: number }).port,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function zoneFor(domain: string, id: string, mx = `mx.${domain}`): SignedZone {
  return {
    [domain]: { MX: [[10, mx]] },
    [mx]: { A: ["127.0.0.1"] },
    [`_mta-sts.${domain}`]: { TXT: [`v=STSv1; id=${id};`] },
    [`mta-sts.${domain}`]: { A: ["127.0.0.1"] },
  };
}

const POLICY = (mode: string, mx: string) =>
  `version: STSv1\r\nmode: ${mode}\r\nmx: ${mx}\r\nmax_age: 86400\r\n`;

/** Everything one case needs, stopped by `stop()`. */
async function setUp(domain: string, options: { mode: string; mx: string; trusted?: boolean }) {
  const dir = await Deno.makeTempDir({ prefix: "mta-sts-" });
  let policy = POLICY(options.mode, options.mx);
  const host = await startPolicyHost(domain, () => policy);
  const mxCert = options.trusted === false
    ? await selfSignedCertificate(`mx.${domain}`)
    : (await testCertificate(`mx.${domain}`))!;
  const smtp = await startStartTlsServer({ cert: mxCert.cert, key: mxCert.key });
  const zone = zoneFor(domain, "1");
  const dns = await startDnssecServer(zone);
  // The trust store: the CAs of the policy host and of the MX host.
  const trusted = (await testCertificate(`mx.${domain}`))!.ca;
  await Deno.writeTextFile(`${dir}/ca.pem`, host.ca + trusted);
  const queue: Queue = await openQueue(`${dir}/queue`);
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  const send = (cache: MtaStsCache = queue.mtaStsPolicies): Promise<DeliveryResult> =>
    relayEnvelope({ ca: "testca" }, {
      sender: "alice@sender.test",
      rcpt: `bob@${domain}`,
      content: new TextEncoder().encode("Subject: sts\r\n\r\nbody\r\n"),
    }, {
      hostname: "near.test",
      log,
      timeoutMs: 20_000,
      mxPort: smtp.port,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      config: { pkis: [], cas: [{ name: "testca", cert: `${dir}/ca.pem`, position: POS }] },
      mtaSts: { cache, port: host.port },
    });
  return {
    dir,
    zone,
    host,
    smtp,
    queue,
    lines,
    send,
    setPolicy: (text: string) => (policy = text),
    async stop() {
      queue.close();
      await smtp.stop();
      await host.stop();
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const POS = { file: "t.conf", line: 1, column: 1 };
const reason = (r: DeliveryResult) => r.kind === "ok" ? "(delivered)" : r.reason;

Deno.test({
  name: "MTA-STS enforce: a listed MX delivers over verified TLS; the policy host was asked once",
  ignore: missing !== undefined,
  async fn() {
    const t = await setUp("sts.test", { mode: "enforce", mx: "mx.sts.test" });
    try {
      assertEquals(withoutHop(await t.send()), { kind: "ok", dsn: "relayed" });
      assertEquals(t.smtp.messages.map((m) => m.tls), [true]);
      assertEquals(t.host.requests, ["mta-sts.sts.test /.well-known/mta-sts.txt"]);
      const log = t.lines.join("\n");
      assertStringIncludes(log, "MTA-STS policy of sts.test fetched: id 1 mode enforce");
      assertStringIncludes(log, "certificate=verified");
      assertStringIncludes(log, "tls-policy=verify (MTA-STS enforce policy of sts.test (id 1)");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "MTA-STS enforce: an MX the policy does not list is not used, and the mail waits",
  ignore: missing !== undefined,
  async fn() {
    const t = await setUp("unlisted.test", { mode: "enforce", mx: "*.elsewhere.test" });
    try {
      const result = await t.send();
      assertEquals(result.kind, "tempfail");
      assertStringIncludes(
        reason(result),
        "no MX host of unlisted.test meets its TLS policy (mx.unlisted.test: mx.unlisted.test " +
          "is not an mx of the MTA-STS enforce policy of unlisted.test (id 1))",
      );
      assertEquals(t.smtp.sessions, []);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "MTA-STS enforce: a certificate that does not verify defers; testing delivers and logs it",
  ignore: missing !== undefined,
  async fn() {
    const t = await setUp("badcert.test", {
      mode: "enforce",
      mx: "mx.badcert.test",
      trusted: false,
    });
    try {
      const result = await t.send();
      assertEquals(result.kind, "tempfail");
      assertStringIncludes(reason(result), "4.7.5 certificate of mx.badcert.test not verified");
      assertEquals(t.smtp.messages, []);
      // The domain moves to testing (a new id): the same certificate is reported, not enforced.
      t.setPolicy(POLICY("testing", "mx.badcert.test"));
      t.zone["_mta-sts.badcert.test"] = { TXT: ["v=STSv1; id=2;"] };
      assertEquals(withoutHop(await t.send()), { kind: "ok", dsn: "relayed" });
      assertEquals(t.smtp.messages.length, 1);
      assertStringIncludes(
        t.lines.join("\n"),
        "mta-sts-testing: MTA-STS testing policy of badcert.test (id 2) wants a verified " +
          "certificate: certificate not verified",
      );
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "MTA-STS: the policy is cached in the queue file and fetched again when the TXT id changes",
  ignore: missing !== undefined,
  async fn() {
    const t = await setUp("cached.test", { mode: "enforce", mx: "mx.cached.test" });
    try {
      assertEquals(withoutHop(await t.send()), { kind: "ok", dsn: "relayed" });
      assertEquals(withoutHop(await t.send()), { kind: "ok", dsn: "relayed" });
      assertEquals(t.host.requests.length, 1);
      const rows = () => {
        const db = new DatabaseSync(`${t.dir}/queue/queue.sqlite`, { readOnly: true });
        try {
          return db.prepare("SELECT domain, id, policy FROM mta_sts_policies").all()
            .map((row) => ({ ...row }));
        } finally {
          db.close();
        }
      };
      assertEquals(rows(), [{
        domain: "cached.test",
        id: "1",
        policy: POLICY("enforce", "mx.cached.test"),
      }]);
      // A new id: fetched again, and the new policy (an MX it no longer lists) applies.
      t.zone["_mta-sts.cached.test"] = { TXT: ["v=STSv1; id=20261201;"] };
      t.setPolicy(POLICY("enforce", "mx2.cached.test"));
      const result = await t.send();
      assertEquals(result.kind, "tempfail");
      assertEquals(t.host.requests.length, 2);
      assertEquals(rows().map((r) => r.id), ["20261201"]);
      assertStringIncludes(t.lines.join("\n"), "fetched: id 20261201 (id was 1) mode enforce");
      // The TXT record gone: the cached policy stays in force until its max_age runs out.
      delete t.zone["_mta-sts.cached.test"];
      assertEquals((await t.send()).kind, "tempfail");
      assertEquals(t.host.requests.length, 2);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "MTA-STS: a policy host whose certificate does not verify gives no policy",
  ignore: missing !== undefined,
  async fn() {
    const t = await setUp("nopolicy.test", { mode: "enforce", mx: "*.elsewhere.test" });
    try {
      // A cache of its own and no CA for the policy host: the fetch fails verification.
      await Deno.writeTextFile(`${t.dir}/ca.pem`, (await testCertificate("mx.nopolicy.test"))!.ca);
      assertEquals(withoutHop(await t.send(new MemoryPolicyCache())), {
        kind: "ok",
        dsn: "relayed",
      });
      assertStringIncludes(t.lines.join("\n"), "MTA-STS policy of nopolicy.test: fetch failed");
      assertStringIncludes(t.lines.join("\n"), "; no policy");
    } finally {
      await t.stop();
    }
  },
});
