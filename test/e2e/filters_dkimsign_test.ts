// Debian's opensmtpd-filter-dkimsign (built on libopensmtpd) as a proc-exec filter: the
// message it signs is the one queued, and python3-dkim verifies the signature with the
// public key served by the test's own DNS server.

import { Buffer } from "node:buffer";
import { assertEquals, assertMatch } from "../assert.ts";
import { sendMessage } from "../_helpers.ts";
import { startDnsServer } from "../_dns_server.ts";
import { scratchDir, startFilterFixture } from "./_filters.ts";

const DKIMSIGN = "/usr/libexec/opensmtpd/filter-dkimsign";
const VERIFY = new URL("../fixtures/dkim_verify.py", import.meta.url).pathname;
// Debian's interpreter, where python3-dkim is installed (a python3 earlier on PATH may not have it).
const PYTHON = "/usr/bin/python3";

function missing(): string | undefined {
  try {
    Deno.statSync(DKIMSIGN);
  } catch {
    return `${DKIMSIGN} is not installed (apt-get install opensmtpd-filter-dkimsign)`;
  }
  const probe = new Deno.Command(PYTHON, { args: ["-c", "import dkim, dns.resolver"] });
  try {
    if (!probe.outputSync().success) return "python3-dkim is not installed";
  } catch {
    return `${PYTHON} is not installed`;
  }
  return undefined;
}

async function run(command: string, args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

const reason = missing();
if (reason) console.log(`skipping the filter-dkimsign test: ${reason}`);

Deno.test({
  name:
    "filter-dkimsign signs the queued message and python3-dkim verifies it against the test's DNS",
  ignore: reason !== undefined,
  async fn() {
    const dir = await scratchDir();
    const key = `${dir}/dkim.key`;
    assertEquals((await run("openssl", ["genrsa", "-out", key, "1024"])).code, 0);
    await Deno.chmod(key, 0o644);
    const der = (await new Deno.Command("openssl", {
      args: ["rsa", "-in", key, "-pubout", "-outform", "DER"],
      stdout: "piped",
      stderr: "null",
    }).output()).stdout;
    assertEquals(der.byteLength > 100, true);
    const dns = await startDnsServer({
      "sel._domainkey.example.test": {
        TXT: [`v=DKIM1; k=rsa; p=${Buffer.from(der).toString("base64")}`],
      },
    });
    try {
      await using fx = await startFilterFixture({
        dir,
        head:
          `filter "dkim" proc-exec "${DKIMSIGN} -d example.test -s sel -k ${key} -c relaxed/relaxed"`,
        listen: `filter "dkim"`,
      });
      await sendMessage(fx.port, {
        from: "sender@example.test",
        to: ["alice@example.test"],
        body:
          "From: Sender <sender@example.test>\nTo: alice@example.test\nSubject: signed\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n\nA signed body.\n..a line with a dot\n",
      });
      const [text] = await fx.delivered("alice");
      assertMatch(text!, /\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; s=sel;/);
      const verified = await run(
        PYTHON,
        [VERIFY, String(dns.port)],
        new TextEncoder().encode(text!),
      );
      assertEquals(verified.text.trim(), "signature ok");
      assertEquals(verified.code, 0);
      // The check can fail: the same message with its body changed does not verify.
      const tampered = text!.replace("A signed body.", "A changed body.");
      const refused = await run(
        PYTHON,
        [VERIFY, String(dns.port)],
        new TextEncoder().encode(tampered),
      );
      assertEquals(refused.code, 1);
    } finally {
      await dns.stop();
    }
  },
});
