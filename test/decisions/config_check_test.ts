// `smtpd -n` refuses what OpenSMTPD 6.8's smtpd -n refuses, with FILE:LINE:COLUMN: a file
// without rules, `relay srs` without an `srs key`, and OpenSMTPD's implicit tables named.

import { assertEquals, assertStringIncludes } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function check(text: string) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(path, text);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "-n", "-f", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr).replaceAll(path, "smtpd.conf"),
  };
}

Deno.test("smtpd -n refuses a configuration without rules, as OpenSMTPD does", async () => {
  for (const text of ["", 'listen on 127.0.0.1\naction "l" mbox\n']) {
    const result = await check(text);
    assertEquals(result.code, 1, JSON.stringify(text));
    assertEquals(result.stdout, "");
    assertStringIncludes(
      result.stderr,
      "smtpd.conf:1:1: No rules, nothing to do: add a `match` line, or every recipient is refused",
    );
  }
  const ok = await check('action "l" mbox\nmatch for local action "l"\n');
  assertEquals([ok.code, ok.stdout], [0, "configuration OK\n"]);
});

Deno.test("smtpd -n refuses relay srs without an srs key", async () => {
  const result = await check('action "r" relay srs\nmatch from any for any action "r"\n');
  assertEquals(result.code, 1);
  assertStringIncludes(
    result.stderr,
    'smtpd.conf:1:1: relay option "srs" needs a key: add `srs key SECRET`',
  );
  const keyed = await check(
    'srs key "s3cret"\naction "r" relay srs\nmatch from any for any action "r"\n',
  );
  assertEquals(keyed.code, 0);
});

Deno.test("smtpd -n names OpenSMTPD's implicit tables and what stands for them", async () => {
  const result = await check(
    'action "l" mbox userbase <getpwnam>\nmatch from src <localhost> for domain <localnames> action "l"\n',
  );
  assertEquals(result.code, 1);
  for (
    const line of [
      "smtpd.conf:1:27: Undefined table \"getpwnam\": OpenSMTPD's built-in <getpwnam> cannot be named in smtpd.conf; without userbase, the system's accounts are used",
      'smtpd.conf:2:17: Undefined table "localhost": OpenSMTPD\'s built-in <localhost> cannot be named in smtpd.conf; write `from local`',
      'smtpd.conf:2:40: Undefined table "localnames": OpenSMTPD\'s built-in <localnames> cannot be named in smtpd.conf; write `for local`',
    ]
  ) assertStringIncludes(result.stderr, line);
});
