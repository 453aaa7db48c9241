// smtpd -n on hostile and tricky files, as an operator runs it: over-long lines are refused
// with a short FILE:LINE:COLUMN error, and what -n -v prints, -n accepts again.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function smtpd(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("smtpd -n refuses a 1 MB line and a 100 KB unknown word with short errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-check-" });
  const path = `${dir}/hostile.conf`;
  const line = "listen on 127.0.0.1 " + "hostname x ".repeat(100_000);
  const word = "acton" + "q".repeat(100 * 1024);
  await Deno.writeTextFile(path, `# hostile\n${line}\n${word}\nmatch from any for any acton "x"\n`);
  const result = await smtpd("-n", "-f", path);
  assertEquals(result.code, 1);
  assertEquals(result.stdout, "");
  assertStringIncludes(result.stderr, `${path}:2:65537: Line too long: ${line.length} characters`);
  assertStringIncludes(result.stderr, `${path}:3:65537: Line too long: ${word.length} characters`);
  assertStringIncludes(result.stderr, `${path}:4:24: Unknown match criterion "acton"`);
  assertTrue(result.stderr.length < 2000, `the errors are short: ${result.stderr.length} bytes`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n accepts what smtpd -n -v printed, names and arguments quoted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-check-" });
  const path = `${dir}/tricky.conf`;
  await Deno.writeTextFile(
    path,
    'table "my hosts" { 192.0.2.1 }\ntable "alias file" "file:/etc/mail/my aliases"\n' +
      'filter "f" proc-exec "/usr/bin/filter\t--flag"\nlisten on 127.0.0.1 filter "f"\n' +
      'action "a" mbox alias <"alias file">\n' +
      'match from src <"my hosts"> tag { "T" } for local action "a"\n',
  );
  const first = await smtpd("-n", "-v", "-f", path);
  assertEquals([first.code, first.stderr], [0, ""]);
  const printed = first.stdout.replace(/\nconfiguration OK\n$/, "");
  assertStringIncludes(printed, 'table "my hosts" { "192.0.2.1" }\n');
  assertStringIncludes(printed, 'match from src <"my hosts"> tag { "T" } for local action "a"');
  await Deno.writeTextFile(`${dir}/printed.conf`, printed);
  const again = await smtpd("-n", "-v", "-f", `${dir}/printed.conf`);
  assertEquals([again.code, again.stderr], [0, ""]);
  assertEquals(again.stdout, first.stdout);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n refuses relay srs without an srs key, and takes it with one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-check-" });
  const path = `${dir}/srs.conf`;
  const rules = 'action "out" relay srs\nmatch from local for any action "out"\n';
  await Deno.writeTextFile(path, `# forwarding\n${rules}`);
  const refused = await smtpd("-n", "-f", path);
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, `${path}:2:1: relay option "srs" needs a key`);
  await Deno.writeTextFile(path, `srs key "secret"\n${rules}`);
  const taken = await smtpd("-n", "-f", path);
  assertEquals([taken.code, taken.stderr], [0, ""]);
  await Deno.remove(dir, { recursive: true });
});
