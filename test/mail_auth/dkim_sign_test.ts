// The built-in DKIM signer's signatures checked by an independent verifier: python3-dkim
// (dkimverify's module), with the public keys served by a DNS server of the test's own.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { generateKeyPairSync } from "node:crypto";
import { dkimPublicRecord, parseDkimKey, signDkim } from "../../src/mail_auth/mod.ts";
import { startDnsServer } from "../_dns_server.ts";

const VERIFIER = new URL("../fixtures/dkim_verify_each.py", import.meta.url).pathname;
const HAVE_DKIM = new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import dkim, dns.resolver, nacl"],
  stdout: "null",
  stderr: "null",
}).outputSync().success;
if (!HAVE_DKIM) {
  console.log("skipping DKIM signer tests: python3-dkim, dnspython or pynacl missing");
}

function pemKey(type: "rsa" | "ed25519"): string {
  const { privateKey } = type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ed25519");
  return privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}

const MESSAGE = [
  "Received: from client by mx",
  "From: Alice <alice@example.org>",
  "To: bob@example.net,",
  "\tcarol@example.net",
  "Cc: dave@example.net",
  "Subject:   Hello   there  ",
  "Date: Tue, 1 Dec 2026 10:00:00 +0000",
  "Message-ID: <1@example.org>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "Hello  Bob,\t ",
  "",
  "caf\xc3\xa9 (8-bit octets, as received)",
  "",
  "",
];

async function verify(message: string[], records: Record<string, string>) {
  const zone = Object.fromEntries(Object.entries(records).map(([n, t]) => [n, { TXT: [t] }]));
  const dns = await startDnsServer(zone);
  try {
    const child = new Deno.Command("/usr/bin/python3", {
      args: [VERIFIER, String(dns.port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new Uint8Array(Array.from(message.map((l) => `${l}\r\n`).join(""), (c) => c.charCodeAt(0))),
    );
    await writer.close();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, text };
  } finally {
    await dns.stop();
  }
}

for (const type of ["rsa", "ed25519"] as const) {
  Deno.test({
    name: `signDkim() with an ${type} key makes a signature python3-dkim verifies`,
    ignore: !HAVE_DKIM,
    async fn() {
      const key = parseDkimKey(pemKey(type));
      const field = signDkim(MESSAGE, { domain: "example.org", selector: "s1", key });
      const signed = [...field, ...MESSAGE];
      const result = await verify(signed, {
        "s1._domainkey.example.org": dkimPublicRecord(key),
      });
      assertTrue(result.ok, result.text);
      assertMatch(result.text, new RegExp(`a=${type}-sha256`));
      // Oversigned From: a From: added later is not covered by the signature's h=.
      assertMatch(
        result.text,
        /h=from:from:subject:date:message-id:to:cc:mime-version:content-type/,
      );
    },
  });
}

// Octets that are not WSP (RFC 5234: SP and HTAB only) at the ends of header values and
// body lines: 0xA0 ends UTF-8's "à". (python3-dkim strips \v and \f from header values
// as Python's bytes.strip() does, so those are checked with mailauth in verify_test.ts.)
const EDGE_OCTETS_MESSAGE = [
  "From: Alice <alice@example.org>",
  "To: \xc2\xa0bob@example.net\xc2\xa0",
  "Subject: Voil\xc3\xa0",
  "Cc: carol@example.net \xa0",
  "Date: Tue, 1 Dec 2026 10:00:00 +0000\xa0",
  "Message-ID: <3@example.org>",
  "",
  "Voil\xc3\xa0",
  "\xc2\xa0indented\xc2\xa0",
  "\vtab\f",
  "\xa0",
  "",
];

for (const type of ["rsa", "ed25519"] as const) {
  Deno.test({
    name:
      `signDkim() with an ${type} key signs header values and body lines ending in 0xA0 verifiably`,
    ignore: !HAVE_DKIM,
    async fn() {
      const key = parseDkimKey(pemKey(type));
      const field = signDkim(EDGE_OCTETS_MESSAGE, { domain: "example.org", selector: "s1", key });
      const result = await verify([...field, ...EDGE_OCTETS_MESSAGE], {
        "s1._domainkey.example.org": dkimPublicRecord(key),
      });
      assertTrue(result.ok, result.text);
      assertMatch(result.text, /signature 0: pass .*h=from:from:subject:date:message-id:to:cc/);
    },
  });
}

Deno.test({
  name: "signDkim() signatures fail python3-dkim once the body, a header or the key differs",
  ignore: !HAVE_DKIM,
  async fn() {
    const key = parseDkimKey(pemKey("ed25519"));
    const field = signDkim(MESSAGE, { domain: "example.org", selector: "s1", key });
    const record = { "s1._domainkey.example.org": dkimPublicRecord(key) };
    const body = [...field, ...MESSAGE.slice(0, -3), "changed", ""];
    assertEquals((await verify(body, record)).ok, false);
    // A second From: on top: the oversigned From: makes the signature fail.
    assertEquals(
      (await verify(["From: mallory@example.org", ...field, ...MESSAGE], record)).ok,
      false,
    );
    const other = dkimPublicRecord(parseDkimKey(pemKey("ed25519")));
    const wrongKey = await verify([...field, ...MESSAGE], { "s1._domainkey.example.org": other });
    assertEquals(wrongKey.ok, false);
  },
});

Deno.test("parseDkimKey() names what is wrong with a key that cannot sign", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ec = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  let message = "";
  try {
    parseDkimKey(ec, "s1.key");
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message, "s1.key: a ec key; DKIM signs with RSA or Ed25519 keys");
  try {
    parseDkimKey("not a key", "s1.key");
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message, "s1.key: not a PEM private key");
});
