// Built-in DKIM signing (`filter NAME dkim-sign …`): the queued message carries an RSA and
// an Ed25519 signature that python3-dkim verifies with the keys from the test's own DNS.

import { generateKeyPairSync } from "node:crypto";
import { assertEquals, assertMatch } from "../assert.ts";
import { dkimPublicRecord, parseDkimKey } from "../../src/mail_auth/mod.ts";
import { startDnsServer } from "../_dns_server.ts";
import { run, sendRaw, startMailAuthFixture } from "./_mail_auth.ts";

const VERIFY = new URL("../fixtures/dkim_verify_each.py", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const HAVE_DKIM = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import dkim, dns.resolver, nacl"] })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!HAVE_DKIM) console.log("skipping built-in DKIM signing tests: python3-dkim or pynacl missing");

function pem(type: "rsa" | "ed25519"): string {
  const { privateKey } = type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ed25519");
  return privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}

Deno.test({
  name:
    "dkim-sign filters sign mail from their domain with RSA and Ed25519, by DATA and BDAT alike, python3-dkim agrees",
  ignore: !HAVE_DKIM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-dkim-" });
    const rsa = pem("rsa");
    const ed = pem("ed25519");
    await Deno.writeTextFile(`${dir}/rsa.key`, rsa);
    await Deno.writeTextFile(`${dir}/ed.key`, ed);
    const dns = await startDnsServer({
      "r1._domainkey.example.org": { TXT: [dkimPublicRecord(parseDkimKey(rsa))] },
      "e1._domainkey.example.org": { TXT: [dkimPublicRecord(parseDkimKey(ed))] },
    });
    try {
      await using fx = await startMailAuthFixture({
        dir,
        dnsPort: dns.port,
        head: `filter "rsa" dkim-sign domain example.org selector r1 key "rsa.key"
filter "ed" dkim-sign domain example.org selector e1 key "${dir}/ed.key"
filter "sign" chain { "rsa", "ed" }`,
        listen: `filter "sign"`,
      });
      const lines = [
        "From: Alice <alice@mail.example.org>",
        "To: bob@example.test",
        "Subject: signed twice",
        "Date: Tue, 1 Dec 2026 10:00:00 +0000",
        "Message-ID: <s@example.org>",
        "",
        "A signed body.",
        "..a line with a dot",
      ];
      assertMatch(
        await sendRaw(fx.port, { from: "alice@example.org", to: "bob@example.test", lines }),
        /^250 /,
      );
      // The same message in BDAT chunks (RFC 3030), whose lines are sent as they are.
      const chunked = lines.map((l) => l.replace(/^\.\./, ".")).map((l) =>
        l.replace("signed twice", "signed in chunks")
      );
      assertMatch(
        await sendRaw(fx.port, {
          from: "alice@example.org",
          to: "bob@example.test",
          lines: chunked,
          bdat: true,
        }),
        /^250 /,
      );
      const other = ["From: carol@elsewhere.test", "To: bob@example.test", "Subject: not ours", ""];
      await sendRaw(fx.port, {
        from: "carol@elsewhere.test",
        to: "bob@example.test",
        lines: other,
      });
      const texts = await fx.delivered("bob", 3);
      const signed = texts.find((t) => t.includes("signed twice"))!;
      for (const subject of ["signed twice", "signed in chunks"]) {
        const text = texts.find((t) => t.includes(subject))!;
        const verified = await run(
          PYTHON,
          [VERIFY, String(dns.port)],
          text.replace(/\r?\n/g, "\r\n"),
        );
        assertEquals(verified.code, 0, `${subject}: ${verified.text}`);
        assertMatch(verified.text, /signature \d: pass a=rsa-sha256 h=from:from:/);
        assertMatch(verified.text, /signature \d: pass a=ed25519-sha256 h=from:from:/);
      }
      // The check can fail: the same message with its body changed does not verify.
      const tampered = signed.replace("A signed body.", "A changed body.");
      assertEquals((await run(PYTHON, [VERIFY, String(dns.port)], tampered)).code, 1);
      // Mail from another domain passes unsigned.
      const unsigned = texts.find((t) => t.includes("not ours"))!;
      assertEquals(unsigned.includes("DKIM-Signature:"), false);
    } finally {
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "dkim-sign signs the header as it is queued: bare names completed with the listener's name still verify",
  ignore: !HAVE_DKIM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-dkim-bare-" });
    const key = pem("ed25519");
    await Deno.writeTextFile(`${dir}/ed.key`, key);
    const dns = await startDnsServer({
      "e1._domainkey.example.test": { TXT: [dkimPublicRecord(parseDkimKey(key))] },
    });
    try {
      await using fx = await startMailAuthFixture({
        dir,
        dnsPort: dns.port,
        head: `filter "sign" dkim-sign domain example.test selector e1 key "${dir}/ed.key"`,
        listen: `filter "sign"`,
      });
      // A cron job's mail: From: and To: without a domain, completed as mx.example.test's.
      const lines = ["From: root (Cron Daemon)", "To: bob", "Cc: postmaster", "Subject: cron", ""];
      assertMatch(
        await sendRaw(fx.port, { from: "root@mx.example.test", to: "bob@example.test", lines }),
        /^250 /,
      );
      const [text] = await fx.delivered("bob");
      assertMatch(text!, /^From: root@mx\.example\.test \(Cron Daemon\)$/m);
      assertMatch(text!, /^To: bob@mx\.example\.test$/m);
      const verified = await run(
        PYTHON,
        [VERIFY, String(dns.port)],
        text!.replace(/\r?\n/g, "\r\n"),
      );
      assertEquals(verified.code, 0, verified.text);
      assertMatch(verified.text, /signature 0: pass a=ed25519-sha256 h=from:from:[^ ]*to/);
    } finally {
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a dkim-sign key that cannot be read stops the start, naming the filter's line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-dkim-" });
  try {
    let message = "";
    try {
      await using _ = await startMailAuthFixture({
        dir,
        dnsPort: 1,
        head: `filter "sign" dkim-sign domain example.org selector s1 key "missing.key"`,
        listen: `filter "sign"`,
      });
    } catch (error) {
      message = (error as Error).message;
    }
    assertMatch(
      message,
      new RegExp(
        `^${dir}/smtpd.conf:2:8: filter "sign": DKIM key "${dir}/missing.key" cannot be read: `,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
