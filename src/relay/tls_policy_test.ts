// The `tls-policy` table of a relay action against a receiving server and a DNS server of
// the test's own: each level does what it says per domain, parent domain or MX host, wins
// over DANE and MTA-STS, and the log names the policy that applied and why.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { type SignedZone, startDnssecServer } from "../../test/_dnssec_server.ts";
import { startStartTlsServer, tlsaData } from "../../test/_starttls_server.ts";
import { selfSignedCertificate } from "../../test/_peers.ts";
import type { RelayOptions } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { StaticTable } from "../tables/mod.ts";
import { relayEnvelope } from "./relay.ts";

// The host a result came from is for its log line; these tests look at what it was.
function withoutHop(result: unknown): unknown {
  const { hop: _hop, ...rest } = (result ?? {}) as Record<string, unknown>;
  return rest;
}

const missing = await testCertificate("mx.policy.test") ? undefined : "openssl is missing";
if (missing) console.log(`tls_policy_test: skipped: ${missing}`);

const POS = { file: "t.conf", line: 1, column: 1 };

/** Relays bob@DOMAIN with a tls-policy table to a server with the given certificate. */
async function deliver(
  domain: string,
  entries: Record<string, string>,
  server: { cert?: string; key?: string; offerTls?: boolean },
  zone: SignedZone = {
    [domain]: { MX: [[10, `mx.${domain}`]] },
    [`mx.${domain}`]: { A: ["127.0.0.1"] },
  },
  ca?: string,
) {
  const dns = await startDnssecServer(zone);
  const smtp = await startStartTlsServer(server);
  const dir = await Deno.makeTempDir({ prefix: "tls-policy-" });
  if (ca) await Deno.writeTextFile(`${dir}/ca.pem`, ca);
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  const table = new StaticTable("policy", "map", Object.entries(entries));
  const options: RelayOptions = {
    tlsPolicy: { name: "policy", position: POS },
    ...(ca ? { ca: "testca" } : {}),
  };
  try {
    const result: DeliveryResult = await relayEnvelope(options, {
      sender: "alice@sender.test",
      rcpt: `bob@${domain}`,
      content: new TextEncoder().encode("Subject: policy\r\n\r\nbody\r\n"),
    }, {
      hostname: "near.test",
      log,
      timeoutMs: 20_000,
      mxPort: smtp.port,
      tables: new Map([["policy", table]]),
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      config: {
        pkis: [],
        cas: ca ? [{ name: "testca", cert: `${dir}/ca.pem`, position: POS }] : [],
      },
    });
    return { result, log: lines.join("\n"), messages: smtp.messages, sessions: smtp.sessions };
  } finally {
    await smtp.stop();
    await dns.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const reason = (r: DeliveryResult) => r.kind === "ok" ? "(delivered)" : r.reason;

Deno.test({
  name: "tls-policy none: no STARTTLS even where the server offers it",
  ignore: missing !== undefined,
  async fn() {
    const cert = await selfSignedCertificate("mx.none.test");
    const run = await deliver("none.test", { "none.test": "none" }, cert);
    assertEquals(withoutHop(run.result), { kind: "ok", dsn: "relayed" });
    assertEquals(run.messages[0]?.tls, false);
    assertEquals(run.sessions[0]?.includes("STARTTLS"), false);
    assertStringIncludes(run.log, 'tls-policy=none (tls-policy "policy" none.test none)');
  },
});

Deno.test({
  name: "tls-policy encrypt: TLS with any certificate, and no delivery without TLS",
  ignore: missing !== undefined,
  async fn() {
    const cert = await selfSignedCertificate("mx.enc.test");
    const ok = await deliver("enc.test", { "enc.test": "encrypt" }, cert);
    assertEquals(withoutHop(ok.result), { kind: "ok", dsn: "relayed" });
    assertEquals(ok.messages[0]?.tls, true);
    const plain = await deliver("enc.test", { "enc.test": "encrypt" }, { offerTls: false });
    assertEquals(plain.result.kind, "tempfail");
    assertStringIncludes(reason(plain.result), "TLS required but not supported by mx.enc.test");
    assertEquals(plain.messages, []);
  },
});

Deno.test({
  name: "tls-policy verify: a certificate the trust store does not verify defers",
  ignore: missing !== undefined,
  async fn() {
    const trusted = (await testCertificate("mx.ver.test"))!;
    const ok = await deliver("ver.test", { "ver.test": "verify" }, trusted, undefined, trusted.ca);
    assertEquals(withoutHop(ok.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(ok.log, "certificate=verified");
    const selfSigned = await selfSignedCertificate("mx.ver.test");
    const bad = await deliver(
      "ver.test",
      { "ver.test": "verify" },
      selfSigned,
      undefined,
      trusted.ca,
    );
    assertEquals(bad.result.kind, "tempfail");
    assertStringIncludes(reason(bad.result), "4.7.5 certificate of mx.ver.test not verified");
    assertStringIncludes(bad.log, 'tls-policy=verify (tls-policy "policy" ver.test verify)');
    assertEquals(bad.messages, []);
  },
});

Deno.test({
  name:
    "tls-policy: the MX host's entry wins over the domain's, a parent domain's applies below it",
  ignore: missing !== undefined,
  async fn() {
    const cert = await selfSignedCertificate("mx.sub.parent.test");
    const byHost = await deliver(
      "sub.parent.test",
      { "mx.sub.parent.test": "none", "sub.parent.test": "encrypt" },
      cert,
    );
    assertEquals(byHost.messages[0]?.tls, false);
    assertStringIncludes(byHost.log, 'tls-policy "policy" mx.sub.parent.test none');
    const byParent = await deliver("sub.parent.test", { ".parent.test": "encrypt" }, {
      offerTls: false,
    });
    assertEquals(byParent.result.kind, "tempfail");
    assertStringIncludes(
      byParent.log,
      'tls-policy=encrypt (tls-policy "policy" .parent.test encrypt)',
    );
  },
});

Deno.test({
  name: "tls-policy may overrides DANE; dane-only defers where DNSSEC does not back the MX",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.signed.test"))!;
    const other = (await testCertificate("other.test"))!;
    const signed: SignedZone = {
      "signed.test": { MX: [[10, "mx.signed.test"]], secure: true },
      "mx.signed.test": { A: ["127.0.0.1"], secure: true },
      "_25._tcp.mx.signed.test": {
        TLSA: [[3, 1, 1, await tlsaData(other.cert, 1, 1)]],
        secure: true,
      },
    };
    // The records would refuse this certificate; `may` does not look them up.
    const may = await deliver("signed.test", { "signed.test": "may" }, cert, signed);
    assertEquals(withoutHop(may.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(may.log, 'tls-policy=may (tls-policy "policy" signed.test may)');
    const unsigned: SignedZone = {
      "unsigned.test": { MX: [[10, "mx.unsigned.test"]] },
      "mx.unsigned.test": { A: ["127.0.0.1"] },
    };
    const only = await deliver("unsigned.test", { "unsigned.test": "dane-only" }, cert, unsigned);
    assertEquals(only.result.kind, "tempfail");
    assertStringIncludes(
      reason(only.result),
      'mx.unsigned.test: tls-policy "policy" unsigned.test dane-only and the MX records of ' +
        "unsigned.test are not DNSSEC-validated",
    );
    assertEquals(only.sessions, []);
    // dane where there is no DANE: opportunistic, and the log says why.
    const dane = await deliver("unsigned.test", { "unsigned.test": "dane" }, cert, unsigned);
    assertEquals(withoutHop(dane.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(
      dane.log,
      'tls-policy=may (tls-policy "policy" unsigned.test dane, the MX',
    );
  },
});

Deno.test({
  name: "tls-policy: an entry that names no level defers the mail and names the entry",
  ignore: missing !== undefined,
  async fn() {
    const run = await deliver("typo.test", { "typo.test": "secure" }, { offerTls: false });
    assertEquals(run.result.kind, "tempfail");
    assertStringIncludes(
      reason(run.result),
      'tls-policy table "policy" maps typo.test to "secure", not one of none, may, encrypt',
    );
    assertEquals(run.sessions, []);
  },
});
