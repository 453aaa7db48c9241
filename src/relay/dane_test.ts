// DANE for delivery by MX (RFC 7672) against a DNS server of the test's own that sets or
// clears the AD bit, and a receiving server with the certificates each case needs: a
// matching DANE-EE or DANE-TA record delivers over TLS, a mismatch defers and says why, an
// insecure MX lookup ignores TLSA records, and TLSA records make TLS mandatory.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { type SignedZone, startDnssecServer } from "../../test/_dnssec_server.ts";
import { startStartTlsServer, tlsaData } from "../../test/_starttls_server.ts";
import type { Logger } from "../log/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { relayEnvelope } from "./relay.ts";

// The host a result came from is for its log line; these tests look at what it was.
function withoutHop(result: unknown): unknown {
  const { hop: _hop, ...rest } = (result ?? {}) as Record<string, unknown>;
  return rest;
}

const missing = await testCertificate("mx.dane.test") ? undefined : "openssl is missing";
if (missing) console.log(`dane_test: skipped: ${missing}`);

/** A zone for `domain` whose one MX host is mx.DOMAIN on 127.0.0.1, signed unless told. */
function zone(
  domain: string,
  tlsa: [number, number, number, string][] | "servfail" | undefined,
  secure = { mx: true, address: true, tlsa: true },
): SignedZone {
  const mx = `mx.${domain}`;
  return {
    [domain]: { MX: [[10, mx]], secure: secure.mx },
    [mx]: { A: ["127.0.0.1"], secure: secure.address },
    ...(tlsa === undefined ? {} : {
      [`_25._tcp.${mx}`]: tlsa === "servfail"
        ? { servfail: true }
        : { TLSA: tlsa, secure: secure.tlsa },
    }),
  };
}

/** Relays one message to bob@DOMAIN through the zone to a server with the given chain. */
async function deliver(
  domain: string,
  records: SignedZone,
  server: { cert?: string; key?: string; offerTls?: boolean },
) {
  const dns = await startDnssecServer(records);
  const smtp = await startStartTlsServer(server);
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  try {
    const result: DeliveryResult = await relayEnvelope({}, {
      sender: "alice@sender.test",
      rcpt: `bob@${domain}`,
      content: new TextEncoder().encode("Subject: dane\r\n\r\nbody\r\n"),
    }, {
      hostname: "near.test",
      log,
      timeoutMs: 20_000,
      mxPort: smtp.port,
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    });
    return { result, log: lines.join("\n"), messages: smtp.messages, queries: dns.queries };
  } finally {
    await smtp.stop();
    await dns.stop();
  }
}

const reason = (r: DeliveryResult) => r.kind === "ok" ? "(delivered)" : r.reason;

Deno.test({
  name: "DANE-EE: a matching 3 1 1 record delivers over TLS whatever the certificate names",
  ignore: missing !== undefined,
  async fn() {
    // The certificate names another host: DANE-EE binds the key, not a name.
    const cert = (await testCertificate("elsewhere.test"))!;
    const spki = await tlsaData(cert.cert, 1, 1);
    const run = await deliver("ee.test", zone("ee.test", [[3, 1, 1, spki]]), cert);
    assertEquals(withoutHop(run.result), { kind: "ok", dsn: "relayed" });
    assertEquals(run.messages.map((m) => [m.recipients, m.tls]), [[["bob@ee.test"], true]]);
    assertStringIncludes(run.log, "tls-policy=dane (DANE: 1 usable TLSA at _25._tcp.mx.ee.test)");
    assertStringIncludes(run.log, "dane=DANE-EE 3 1 1");
  },
});

Deno.test({
  name: "DANE-EE: full-certificate and SHA-512 records match too",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.full.test"))!;
    const records: [number, number, number, string][] = [
      [3, 0, 0, await tlsaData(cert.cert, 0, 0)],
    ];
    const whole = await deliver("full.test", zone("full.test", records), cert);
    assertEquals(withoutHop(whole.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(whole.log, "dane=DANE-EE 3 0 0");
    const sha512 = await deliver(
      "full.test",
      zone("full.test", [[3, 0, 2, await tlsaData(cert.cert, 0, 2)]]),
      cert,
    );
    assertEquals(withoutHop(sha512.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(sha512.log, "dane=DANE-EE 3 0 2");
  },
});

Deno.test({
  name: "DANE-EE: a record for another key defers, never sends, and says why",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.mismatch.test"))!;
    const other = (await testCertificate("other.test"))!;
    const records = zone("mismatch.test", [[3, 1, 1, await tlsaData(other.cert, 1, 1)]]);
    const run = await deliver("mismatch.test", records, cert);
    assertEquals(run.result.kind, "tempfail");
    assertStringIncludes(
      reason(run.result),
      "DANE check of mx.mismatch.test failed: no DANE-EE record matches the server's certificate",
    );
    assertEquals(run.messages, []);
    // Not tried again in clear: one session, which ended after STARTTLS and EHLO.
    assertStringIncludes(run.log, "failed: 4.7.5 DANE check of mx.mismatch.test failed");
  },
});

Deno.test({
  name: "DANE-TA: a record of the issuing CA delivers when the certificate names the MX host",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.ta.test"))!;
    const chain = { cert: cert.cert + cert.ca, key: cert.key };
    const byCert = await deliver(
      "ta.test",
      zone("ta.test", [[2, 0, 1, await tlsaData(cert.ca, 0, 1)]]),
      chain,
    );
    assertEquals(withoutHop(byCert.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(byCert.log, "dane=DANE-TA 2 0 1");
    assertStringIncludes(byCert.log, "name mx.ta.test");
    const byKey = await deliver(
      "ta.test",
      zone("ta.test", [[2, 1, 2, await tlsaData(cert.ca, 1, 2)]]),
      chain,
    );
    assertEquals(withoutHop(byKey.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(byKey.log, "dane=DANE-TA 2 1 2");
  },
});

Deno.test({
  name: "DANE-TA: a certificate for another name, or from another CA, defers with the reason",
  ignore: missing !== undefined,
  async fn() {
    // Issued by the CA the record names, but for a host that is not the MX host.
    const stranger = (await testCertificate("www.tamis.test"))!;
    const named = await deliver(
      "tamis.test",
      zone("tamis.test", [[2, 0, 1, await tlsaData(stranger.ca, 0, 1)]]),
      { cert: stranger.cert + stranger.ca, key: stranger.key },
    );
    assertEquals(named.result.kind, "tempfail");
    assertStringIncludes(
      reason(named.result),
      "the certificate names none of mx.tamis.test, tamis.test (DANE-TA name check)",
    );
    assertEquals(named.messages, []);
    // The right name, from a CA the record does not name.
    const right = (await testCertificate("mx.tamis.test"))!;
    const otherCa = await deliver(
      "tamis.test",
      zone("tamis.test", [[2, 0, 1, await tlsaData(stranger.ca, 0, 1)]]),
      { cert: right.cert + right.ca, key: right.key },
    );
    assertEquals(otherCa.result.kind, "tempfail");
    assertStringIncludes(
      reason(otherCa.result),
      "no certificate of the chain matches a DANE-TA record",
    );
    assertEquals(otherCa.messages, []);
  },
});

Deno.test({
  name: "DANE: an insecure MX lookup ignores TLSA records, and no TLSA is even asked for",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.unsigned.test"))!;
    const other = (await testCertificate("other.test"))!;
    // The records would not match: were they used, the mail would wait.
    const records = zone("unsigned.test", [[3, 1, 1, await tlsaData(other.cert, 1, 1)]], {
      mx: false,
      address: true,
      tlsa: true,
    });
    const run = await deliver("unsigned.test", records, cert);
    assertEquals(withoutHop(run.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(run.log, "the MX records of unsigned.test are not DNSSEC-validated");
    assertStringIncludes(run.log, "tls-policy=may");
    assertEquals(run.queries.filter((q) => q.includes("TLSA")), []);
    // Insecure address records of the MX host: the same.
    const address = await deliver(
      "unsigned.test",
      zone("unsigned.test", [[3, 1, 1, await tlsaData(other.cert, 1, 1)]], {
        mx: true,
        address: false,
        tlsa: true,
      }),
      cert,
    );
    assertEquals(withoutHop(address.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(address.log, "the address records of mx.unsigned.test are not DNSSEC");
    // Insecure TLSA records themselves: looked up, not used.
    const tlsa = await deliver(
      "unsigned.test",
      zone("unsigned.test", [[3, 1, 1, await tlsaData(other.cert, 1, 1)]], {
        mx: true,
        address: true,
        tlsa: false,
      }),
      cert,
    );
    assertEquals(withoutHop(tlsa.result), { kind: "ok", dsn: "relayed" });
    assertStringIncludes(tlsa.log, "the TLSA records at _25._tcp.mx.unsigned.test are not DNSSEC");
  },
});

Deno.test({
  name: "DANE: TLSA records make TLS mandatory: no STARTTLS means no delivery, never clear text",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.must.test"))!;
    const records = zone("must.test", [[3, 1, 1, await tlsaData(cert.cert, 1, 1)]]);
    const run = await deliver("must.test", records, { ...cert, offerTls: false });
    assertEquals(run.result.kind, "tempfail");
    assertStringIncludes(reason(run.result), "TLS required but not supported by mx.must.test");
    assertStringIncludes(run.log, "tls-policy=dane");
    assertEquals(run.messages, []);
    // Only unusable records (PKIX-EE is not for SMTP): TLS is still a must, unauthenticated.
    const unusable = zone("must.test", [[1, 1, 1, await tlsaData(cert.cert, 1, 1)]]);
    const plain = await deliver("must.test", unusable, { ...cert, offerTls: false });
    assertEquals(plain.result.kind, "tempfail");
    assertStringIncludes(plain.log, "tls-policy=encrypt (DANE: none of the 1 TLSA records");
    const encrypted = await deliver("must.test", unusable, cert);
    assertEquals(withoutHop(encrypted.result), { kind: "ok", dsn: "relayed" });
    assertEquals(encrypted.messages[0]?.tls, true);
  },
});

Deno.test({
  name: "DANE: a TLSA lookup that fails (SERVFAIL) leaves the host unused, and the mail waits",
  ignore: missing !== undefined,
  async fn() {
    const cert = (await testCertificate("mx.broken.test"))!;
    const run = await deliver("broken.test", zone("broken.test", "servfail"), cert);
    assertEquals(run.result.kind, "tempfail");
    assertStringIncludes(
      reason(run.result),
      "no MX host of broken.test meets its TLS policy (mx.broken.test: DANE lookup failed: " +
        "TLSA lookup of _25._tcp.mx.broken.test: SERVFAIL)",
    );
    assertEquals(run.messages, []);
  },
});
