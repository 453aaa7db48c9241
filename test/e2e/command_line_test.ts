// Every command parses its command line through the one helper: an unknown flag is a usage
// error (EX_USAGE, 64) said on standard error, and -h prints help and exits 0.

import { assertEquals, assertStringIncludes } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

const COMMANDS = [
  ["smtpd"],
  ["smtpctl", "schedule", "all"],
  ["smtpctl", "show", "queue"],
  ["makemap"],
  ["newaliases"],
  ["sendmail"],
  ["mailq"],
  ["queue", "flush"],
];

Deno.test("every command refuses an unknown flag with 64 and says so", async () => {
  const results = await Promise.all(COMMANDS.map((c) => run([...c, "--no-such-flag"])));
  for (const [i, result] of results.entries()) {
    assertEquals(result.code, 64, COMMANDS[i]!.join(" "));
    assertStringIncludes(result.stderr, "unknown option '--no-such-flag'", COMMANDS[i]!.join(" "));
  }
});

Deno.test("every command prints its help on -h and exits 0", async () => {
  const results = await Promise.all(COMMANDS.map((c) => run([...c, "-h"])));
  for (const [i, result] of results.entries()) {
    assertEquals(result.code, 0, COMMANDS[i]!.join(" "));
    assertStringIncludes(result.stdout, "Usage:", COMMANDS[i]!.join(" "));
  }
});

Deno.test("smtpctl encrypt takes a password that starts with a dash", async () => {
  const result = await run(["smtpctl", "encrypt", "-secret"]);
  assertEquals(result.code, 0);
  assertEquals(result.stdout.startsWith("$6$"), true);
});
