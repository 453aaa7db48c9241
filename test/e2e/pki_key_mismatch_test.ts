// A pki whose key is not its certificate's is refused by `smtpd -n` and at the start,
// naming the pki where it is declared, rather than accepted and then failing every
// STARTTLS with a bare disconnect.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { freePort, spawnLoggedDaemon } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const mx = await testCertificate("mx.example.test");
const other = await testCertificate("other.example.test");
if (!mx || !other) console.log("pki key mismatch test skipped: openssl is not installed");

async function smtpdCheck(path: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "-n", "-f", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test({
  name: "a pki whose key belongs to another certificate stops smtpd -n and the start",
  ignore: !mx || !other,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "pki-mismatch-" });
    await Deno.writeTextFile(`${dir}/mx.pem`, mx!.cert);
    await Deno.writeTextFile(`${dir}/mx.key`, mx!.key);
    await Deno.writeTextFile(`${dir}/other.key`, other!.key);
    const conf = (key: string) =>
      `queue path "${dir}/queue"\npki mx.example.test cert "${dir}/mx.pem"\n` +
      `pki mx.example.test key "${dir}/${key}"\n` +
      `listen on 127.0.0.1 port ${freePort()} tls pki mx.example.test\n` +
      `action "a" maildir "${dir}/mail"\nmatch for local action "a"\n`;
    const path = `${dir}/smtpd.conf`;
    const message = `${path}:2:5: pki "mx.example.test": the private key does not match ` +
      "the certificate's public key";

    await Deno.writeTextFile(path, conf("other.key"));
    const refused = await smtpdCheck(path);
    assertEquals(refused.code, 1);
    assertEquals(refused.stdout, "");
    assertStringIncludes(refused.stderr, message);
    const daemon = spawnLoggedDaemon(path);
    assertEquals((await daemon.exited()).success, false);
    assertStringIncludes(daemon.log(), message);

    await Deno.writeTextFile(path, conf("mx.key"));
    const taken = await smtpdCheck(path);
    assertEquals([taken.code, taken.stdout, taken.stderr], [0, "configuration OK\n", ""]);
    await Deno.remove(dir, { recursive: true });
  },
});
