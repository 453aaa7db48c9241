// SPF, DKIM and DMARC checks of inbound mail against DNS records served by a server of
// the test's own, as they appear in the Authentication-Results field.

import { assertEquals, assertMatch } from "../assert.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  dkimPublicRecord,
  dropForgedResults,
  signDkim,
  verifyMessage,
} from "../../src/mail_auth/mod.ts";
import { type DnsZone, startDnsServer } from "../_dns_server.ts";
import { type SignedZone, startDnssecServer } from "../_dnssec_server.ts";

const KEY = {
  algorithm: "ed25519-sha256" as const,
  key: generateKeyPairSync("ed25519").privateKey,
};

const ZONE: DnsZone = {
  "example.org": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "_dmarc.example.org": { TXT: ["v=DMARC1; p=reject"] },
  "s1._domainkey.example.org": { TXT: [dkimPublicRecord(KEY)] },
  "elsewhere.test": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
  "bank.test": { TXT: ["v=spf1 ip4:192.0.2.7 -all"] },
  "_dmarc.bank.test": { TXT: ["v=DMARC1; p=reject"] },
};

function message(from: string): string[] {
  return [
    `From: <${from}>`,
    "To: <bob@mx.example.test>",
    "Subject: checks",
    "Date: Tue, 1 Dec 2026 10:00:00 +0000",
    "Message-ID: <2@example.org>",
    "",
    "Hello",
  ];
}

async function check(lines: string[], sender: string, ip = "127.0.0.1", zone = ZONE) {
  const dns = await startDnsServer(zone);
  try {
    return await verifyMessage(lines, { ip, helo: "client.example.org", sender }, {
      authservId: "mx.example.test",
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port }, timeoutMs: 5000 },
    });
  } finally {
    await dns.stop();
  }
}

Deno.test("verifyMessage() passes SPF for an address the sender's record lists", async () => {
  const verdict = await check(message("alice@example.org"), "alice@example.org");
  assertEquals(verdict.spf, "pass");
  assertMatch(verdict.header.join("\r\n"), /^Authentication-Results: mx\.example\.test;/);
  assertMatch(verdict.header.join("\r\n"), /spf=pass .*smtp\.mailfrom=alice@example\.org/);
});

Deno.test("verifyMessage() fails SPF for an address the sender's record leaves out", async () => {
  const verdict = await check(message("x@elsewhere.test"), "x@elsewhere.test");
  assertEquals(verdict.spf, "fail");
  assertMatch(verdict.header.join("\r\n"), /spf=fail /);
});

Deno.test("verifyMessage() gives dkim=pass and dmarc=pass to a correctly signed message", async () => {
  const lines = message("alice@example.org");
  const signed = [
    ...signDkim(lines, { domain: "example.org", selector: "s1", key: KEY }),
    ...lines,
  ];
  // From another address: SPF fails, the aligned DKIM signature carries DMARC.
  const verdict = await check(signed, "alice@example.org", "192.0.2.99");
  assertEquals([verdict.spf, verdict.dkim, verdict.dmarc], ["fail", "pass", "pass"]);
  const header = verdict.header.join("\r\n");
  assertMatch(header, /dkim=pass header\.i=@example\.org header\.s=s1 header\.a=ed25519-sha256/);
  assertMatch(header, /dmarc=pass /);
});

Deno.test("verifyMessage() passes our signature over values that begin or end in 0xA0, \\v, \\f", async () => {
  // Only SP and HTAB are WSP (RFC 5234): the other octets are part of what is signed.
  const lines = [
    "From: <alice@example.org>",
    "To: <bob@mx.example.test>\xa0",
    "Subject: Voil\xc3\xa0",
    "Cc: \vcarol@example.org\f",
    "Date: Tue, 1 Dec 2026 10:00:00 +0000",
    "Message-ID: <\f2@example.org>",
    "",
    "\xc2\xa0Voil\xc3\xa0",
    "\vline\f",
  ];
  const signed = [
    ...signDkim(lines, { domain: "example.org", selector: "s1", key: KEY }),
    ...lines,
  ];
  const verdict = await check(signed, "alice@example.org", "192.0.2.99");
  assertEquals(verdict.dkim, "pass");
});

Deno.test("verifyMessage() gives dmarc=fail and the reject policy to a forged From: domain", async () => {
  const verdict = await check(message("ceo@bank.test"), "mallory@example.org");
  assertEquals([verdict.spf, verdict.dmarc, verdict.dmarcPolicy], ["pass", "fail", "reject"]);
  assertMatch(verdict.header.join("\r\n"), /dmarc=fail .*header\.from=bank\.test/);
  assertEquals(verdict.temperror, false);
});

Deno.test("verifyMessage() with its DNS server down says temperror, quickly", async () => {
  const dns = await startDnsServer({});
  const port = dns.port;
  await dns.stop();
  const started = Date.now();
  const verdict = await verifyMessage(message("ceo@bank.test"), {
    ip: "127.0.0.1",
    helo: "client.example.org",
    sender: "mallory@example.org",
  }, {
    authservId: "mx.example.test",
    dns: { nameServer: { ipAddr: "127.0.0.1", port }, timeoutMs: 1500 },
  });
  assertEquals(verdict.temperror, true);
  assertEquals(verdict.spf, "temperror");
  assertEquals(verdict.dmarc === "fail", false);
  // One timeout for the whole message, not one per lookup.
  assertEquals(Date.now() - started < 10_000, true);
});

Deno.test("dropForgedResults() removes Authentication-Results fields that claim our id", () => {
  const lines = [
    "Authentication-Results: mx.example.test;",
    "\tdkim=pass header.d=bank.test",
    "Authentication-Results: other.example; spf=pass",
    "Subject: x",
    "",
    "Authentication-Results: mx.example.test; in the body",
  ];
  assertEquals(dropForgedResults(lines, "MX.example.test"), lines.slice(2));
});

Deno.test("dropForgedResults() sees our id past folds, comments and a space before the colon", () => {
  const lines = [
    "Authentication-Results:",
    " mx.example.test; dkim=pass",
    "Authentication-Results: (trusted (really)) mx.example.test; dkim=pass",
    'Authentication-Results : "mx.example.test"; dkim=pass',
    "authentication-results:\t(x)\tMX.EXAMPLE.TEST(y); spf=pass",
    "Authentication-Results: other.example (mx.example.test); spf=pass",
    "Authentication-Results: mx.example.test.evil; spf=pass",
    "Subject: x",
    "",
    "Authentication-Results: mx.example.test; in the body",
  ];
  assertEquals(dropForgedResults(lines, "mx.example.test"), lines.slice(5));
});

// Names whose server answers SERVFAIL (a broken or DNSSEC-bogus zone), beside working ones.
const FAILING_ZONE: SignedZone = {
  "sfspf.test": { servfail: true },
  "_dmarc.sfspf.test": { TXT: ["v=DMARC1; p=reject"] },
  "inclsf.test": { TXT: ["v=spf1 include:broken.test -all"] },
  "broken.test": { servfail: true },
  "_dmarc.inclsf.test": { TXT: ["v=DMARC1; p=reject"] },
  "example.org": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
  "_dmarc.example.org": { TXT: ["v=DMARC1; p=reject"] },
  "sf._domainkey.example.org": { servfail: true },
  "dsf.test": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
  "_dmarc.dsf.test": { servfail: true },
};

async function checkFailing(lines: string[], sender: string) {
  const dns = await startDnssecServer(FAILING_ZONE);
  try {
    return await verifyMessage(lines, { ip: "127.0.0.1", helo: "client.example.org", sender }, {
      authservId: "mx.example.test",
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port }, timeoutMs: 5000 },
    });
  } finally {
    await dns.stop();
  }
}

Deno.test("verifyMessage() says spf=temperror when the SPF record's lookup answers SERVFAIL", async () => {
  const verdict = await checkFailing(message("a@sfspf.test"), "a@sfspf.test");
  assertEquals([verdict.spf, verdict.temperror], ["temperror", true]);
  assertMatch(verdict.header.join("\r\n"), /spf=temperror /);
});

Deno.test("verifyMessage() says spf=temperror for an include: whose lookup answers SERVFAIL", async () => {
  // RFC 7208 §5.2: an include whose check returns temperror returns temperror.
  const verdict = await checkFailing(message("a@inclsf.test"), "a@inclsf.test");
  assertEquals([verdict.spf, verdict.temperror], ["temperror", true]);
});

Deno.test("verifyMessage() says dkim=temperror when the key's lookup answers SERVFAIL", async () => {
  // RFC 6376 §6.1.2: a key query that fails is TEMPFAIL, not "no key".
  const lines = message("alice@example.org");
  const signed = [
    ...signDkim(lines, { domain: "example.org", selector: "sf", key: KEY }),
    ...lines,
  ];
  const verdict = await checkFailing(signed, "x@elsewhere.test");
  assertEquals([verdict.dkim, verdict.temperror], ["temperror", true]);
  assertMatch(verdict.header.join("\r\n"), /dkim=temperror /);
});

Deno.test("verifyMessage() says dmarc=temperror when the _dmarc lookup answers SERVFAIL", async () => {
  const verdict = await checkFailing(message("a@dsf.test"), "x@elsewhere.test");
  assertEquals([verdict.dmarc, verdict.temperror], ["temperror", true]);
  assertMatch(verdict.header.join("\r\n"), /dmarc=temperror /);
});

Deno.test("verifyMessage() keeps NXDOMAIN and an empty answer as no record", async () => {
  // nowhere.test is NXDOMAIN, _dmarc.example.org answers NOERROR with no A record: neither
  // is a temperror.
  const verdict = await checkFailing(message("a@nowhere.test"), "a@nowhere.test");
  assertEquals([verdict.spf, verdict.dmarc, verdict.temperror], ["none", "none", false]);
});

const RSA = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

// A zone with the keys of the signatures below: an RSA one, one revoked (empty p=).
const SIGNED_ZONE: DnsZone = {
  ...ZONE,
  "rsa._domainkey.example.org": {
    TXT: [dkimPublicRecord({ algorithm: "rsa-sha256", key: RSA })],
  },
  "gone._domainkey.example.org": { TXT: ["v=DKIM1; k=ed25519; p="] },
};

async function checkSigned(lines: string[]) {
  const dns = await startDnsServer(SIGNED_ZONE);
  try {
    // From an address SPF does not allow: only the signature can carry DMARC.
    return await verifyMessage(lines, {
      ip: "192.0.2.99",
      helo: "client.example.org",
      sender: "alice@example.org",
    }, {
      authservId: "mx.example.test",
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port }, timeoutMs: 5000 },
    });
  } finally {
    await dns.stop();
  }
}

// A signature made by npm:mailauth's signer, for algorithms and times ours does not make.
async function signedBy(
  lines: string[],
  options: {
    algorithm?: string;
    selector: string;
    key: KeyObject;
    signTime?: Date;
    expires?: Date;
  },
): Promise<string[]> {
  const { dkimSign } = await import("mailauth");
  const text = lines.map((l) => `${l}\r\n`).join("");
  const signed = await dkimSign(
    text,
    {
      canonicalization: "relaxed/relaxed",
      ...(options.signTime ? { signTime: options.signTime } : {}),
      ...(options.expires ? { expires: options.expires } : {}),
      signatureData: [{
        signingDomain: "example.org",
        selector: options.selector,
        privateKey: options.key.export({ format: "pem", type: "pkcs8" }) as string,
        ...(options.algorithm ? { algorithm: options.algorithm } : {}),
      }],
    } as Parameters<typeof dkimSign>[1],
  );
  return [...signed.signatures.replace(/\r\n$/, "").split("\r\n"), ...lines];
}

Deno.test("verifyMessage() does not pass an rsa-sha1 signature, and DMARC fails for it", async () => {
  // RFC 8301 §3.1: verifiers MUST NOT consider rsa-sha1 signatures valid.
  const signed = await signedBy(message("alice@example.org"), {
    algorithm: "rsa-sha1",
    selector: "rsa",
    key: RSA,
  });
  const verdict = await checkSigned(signed);
  assertEquals([verdict.dkim, verdict.dmarc, verdict.dmarcPolicy], ["policy", "fail", "reject"]);
  const header = verdict.header.join("\r\n");
  assertMatch(header, /dkim=policy \(weak algorithm\) policy\.dkim-rules=weak-algorithm /);
  assertMatch(header, /dmarc=fail /);
});

Deno.test("verifyMessage() still passes an rsa-sha256 signature", async () => {
  const signed = await signedBy(message("alice@example.org"), { selector: "rsa", key: RSA });
  const verdict = await checkSigned(signed);
  assertEquals([verdict.dkim, verdict.dmarc], ["pass", "pass"]);
});

Deno.test("verifyMessage() says dkim=fail for a body changed after signing", async () => {
  // RFC 6376 §6.1.3: a body hash that does not verify is PERMFAIL; RFC 8601 §2.7.1: fail.
  const lines = message("alice@example.org");
  const signed = [
    ...signDkim(lines, { domain: "example.org", selector: "s1", key: KEY }),
    ...lines,
  ];
  signed[signed.length - 1] = "Hello, changed";
  const verdict = await checkSigned(signed);
  assertEquals([verdict.dkim, verdict.dmarc], ["fail", "fail"]);
  assertMatch(verdict.header.join("\r\n"), /dkim=fail \(body hash did not verify\) header\.i=/);
});

Deno.test("verifyMessage() says dkim=fail for an expired signature", async () => {
  const day = 86_400_000;
  const signed = await signedBy(message("alice@example.org"), {
    selector: "s1",
    key: KEY.key,
    signTime: new Date(Date.now() - 2 * day),
    expires: new Date(Date.now() - day),
  });
  const verdict = await checkSigned(signed);
  assertEquals(verdict.dkim, "fail");
  assertMatch(verdict.header.join("\r\n"), /dkim=fail \(expired\) header\.i=/);
});

Deno.test("verifyMessage() says dkim=fail for a signature whose key is revoked", async () => {
  // RFC 6376 §6.1.2 step 6: an empty p= is a revoked key, PERMFAIL.
  const lines = message("alice@example.org");
  const signed = [
    ...signDkim(lines, { domain: "example.org", selector: "gone", key: KEY }),
    ...lines,
  ];
  const verdict = await checkSigned(signed);
  assertEquals(verdict.dkim, "fail");
  assertMatch(verdict.header.join("\r\n"), /dkim=fail \(key revoked\) header\.i=/);
});

Deno.test("verifyMessage() keeps dkim=neutral for a signature it cannot process", async () => {
  // RFC 8601 §2.7.1: neutral is for signatures with syntax errors or that cannot be processed.
  const lines = message("alice@example.org");
  const signed = [
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; h=subject; bh=x; b=y",
    ...lines,
  ];
  const verdict = await checkSigned(signed);
  assertEquals(verdict.dkim, "neutral");
  assertMatch(verdict.header.join("\r\n"), /dkim=neutral \(From field not signed\)/);
});

Deno.test("verifyMessage() applies the strictest policy of a From: with several domains", async () => {
  // RFC 7489 §6.6.1: each domain is checked, the most strict policy among failures applies.
  const lines = message("ceo@bank.test");
  lines[0] = "From: <ceo@bank.test>, <a@nowhere.test>";
  const verdict = await check(lines, "mallory@example.org");
  assertEquals([verdict.dmarc, verdict.dmarcPolicy, verdict.fromDomain], [
    "fail",
    "reject",
    "bank.test",
  ]);
  const header = verdict.header.join("\r\n");
  assertMatch(header, /dmarc=fail .*header\.from=bank\.test/);
  assertMatch(header, /dmarc=none header\.from=nowhere\.test/);
});

Deno.test("verifyMessage() says dmarc=permerror for two From: fields or none", async () => {
  const two = message("ceo@bank.test");
  two.splice(1, 0, "From: <a@nowhere.test>");
  const twice = await check(two, "mallory@example.org");
  assertEquals([twice.dmarc, twice.temperror], ["permerror", false]);
  assertMatch(twice.header.join("\r\n"), /dmarc=permerror \(2 From: fields\)$/);
  const none = await check(message("x@bank.test").slice(1), "mallory@example.org");
  assertEquals(none.dmarc, "permerror");
  assertMatch(none.header.join("\r\n"), /dmarc=permerror \(no From: field\)$/);
});

// co.uk is a public suffix that publishes a record without psd=y; below it, two unrelated
// registrable domains. pct.test asks for its policy to be applied to none of its mail.
const SUFFIX_ZONE: DnsZone = {
  "_dmarc.co.uk": { TXT: ["v=DMARC1; p=none"] },
  "_dmarc.example.co.uk": { TXT: ["v=DMARC1; p=reject"] },
  "evil.co.uk": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "elsewhere.test": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
  "pct.test": { TXT: ["v=spf1 -all"] },
  "_dmarc.pct.test": { TXT: ["v=DMARC1; p=reject; pct=0"] },
  "pct10.test": { TXT: ["v=spf1 -all"] },
  "_dmarc.pct10.test": { TXT: ["v=DMARC1; p=reject; pct=10"] },
};

Deno.test("verifyMessage() does not align two registrable domains below a public suffix", async () => {
  const verdict = await check(
    message("ceo@example.co.uk"),
    "x@evil.co.uk",
    "127.0.0.1",
    SUFFIX_ZONE,
  );
  assertEquals([verdict.spf, verdict.dmarc, verdict.dmarcPolicy], ["pass", "fail", "reject"]);
  assertMatch(verdict.header.join("\r\n"), /dmarc=fail .*header\.from=example\.co\.uk/);
});

Deno.test("verifyMessage() applies the registrable domain's policy to its subdomains", async () => {
  const verdict = await check(
    message("a@a.b.example.co.uk"),
    "x@elsewhere.test",
    "127.0.0.1",
    SUFFIX_ZONE,
  );
  assertEquals([verdict.dmarc, verdict.dmarcPolicy], ["fail", "reject"]);
});

Deno.test("verifyMessage() reads pct= below 100 as test mode: p=reject is applied as quarantine", async () => {
  // RFC 9989 removes pct; its t=y (the policy one level down) stands for pct=0.
  for (const domain of ["pct.test", "pct10.test"]) {
    const verdict = await check(message(`a@${domain}`), `a@${domain}`, "127.0.0.1", SUFFIX_ZONE);
    assertEquals([verdict.dmarc, verdict.dmarcPolicy], ["fail", "quarantine"]);
    assertMatch(verdict.header.join("\r\n"), /dmarc=fail .*policy\.dmarc=quarantine/);
  }
});
