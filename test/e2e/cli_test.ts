// The smtpd command as an operator runs it: -n checks a file, errors name FILE:LINE:COLUMN.

import { assertEquals, assertStringIncludes } from "../assert.ts";

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

Deno.test("smtpd -n accepts the quick start configuration", async () => {
  const result = await smtpd("-n", "-f", "examples/smtpd.conf");
  assertEquals(result.stdout, "configuration OK\n");
  assertEquals(result.code, 0);
});

Deno.test("smtpd -n names file, line and column of a mistake and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/broken.conf`;
  await Deno.writeTextFile(
    path,
    `listen on 127.0.0.1 port 2525\nmatch from any for any acton "x"\n`,
  );
  const result = await smtpd("-n", "-f", path);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, `${path}:2:24: `);
  assertStringIncludes(result.stderr, `match from any for any acton "x"\n`);
  assertStringIncludes(result.stderr, "\n                       ^");
  assertEquals(result.stdout, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -D overrides a macro of the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/macro.conf`;
  await Deno.writeTextFile(
    path,
    `port = 2525\nlisten on 127.0.0.1 port $port\naction "a" maildir\nmatch for local action "a"\n`,
  );
  assertEquals((await smtpd("-n", "-D", "port=2626", "-f", path)).code, 0);
  const bad = await smtpd("-n", "-D", "port=nope", "-f", path);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, `${path}:2:`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n refuses a queue encryption key the start would refuse, at its position", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/key.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nqueue encryption "abc"\nlisten on 127.0.0.1 port 0\n` +
      `action "a" maildir\nmatch for local action "a"\n`,
  );
  const result = await smtpd("-n", "-f", path);
  assertEquals(result.code, 1);
  assertStringIncludes(
    result.stderr,
    `${path}:2:18: The queue encryption key must be 32 bytes: 64 hex digits, base64 of 32 bytes, ` +
      "or 32 characters (got 3 characters)",
  );
  assertEquals(result.stdout, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -h prints the flags and exits 0", async () => {
  const result = await smtpd("-h");
  assertEquals(result.code, 0);
  for (const flag of ["-d", "-f <file>", "-n", "-v", "-D <name=value>"]) {
    assertStringIncludes(result.stdout, flag);
  }
});

/** The error lines (not warnings) of `smtpd -n`, without the file name. */
function errorLines(stderr: string, file: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith(`${file}:`) && !l.includes(" warning: "))
    .map((l) => l.slice(file.length + 1));
}

Deno.test("smtpd -n refuses the seed's eye bleach for the reasons its comment gives", async () => {
  const file = "examples/seed-eye-bleach.conf";
  const comment = await Deno.readTextFile(`${ROOT}${file}`);
  assertStringIncludes(comment, '"No rules, nothing to do"');
  assertStringIncludes(comment, "both listeners bind 192.168.0.1 port 25");
  const result = await smtpd("-n", "-f", file);
  assertEquals(result.code, 1);
  const lines = comment.split("\n");
  const first = lines.indexOf("listen on $lan_addr") + 1;
  const second = lines.indexOf("listen on $lan_addr tls auth") + 1;
  assertEquals(errorLines(result.stderr, file), [
    "1:1: No rules, nothing to do: add a `match` line, or every recipient is refused",
    `${second}:1: listen on 192.168.0.1 port 25 binds 192.168.0.1 port 25, ` +
    `as the listener at ${file}:${first}:1 does already`,
  ]);
});

Deno.test("smtpd -n refuses the seed's complex example only for prism.mx's files and names", async () => {
  const file = "examples/seed-complex.conf";
  const comment = await Deno.readTextFile(`${ROOT}${file}`);
  assertStringIncludes(comment, "the certificates and keys under\n# /etc/ssl are not there");
  const result = await smtpd("-n", "-f", file);
  assertEquals(result.code, 1);
  const errors = errorLines(result.stderr, file);
  assertEquals(errors.length, 6, errors.join("\n"));
  for (const error of errors) {
    const missing =
      /^\d+:5: Cannot read the (certificate|key) of "(mx1|mail)\.prism\.mx" from "\/etc\/ssl\//;
    const unnamed = /^\d+:11: No interface or host named "(mx1|mail)\.prism\.mx"/;
    assertEquals(missing.test(error) || unnamed.test(error), true, error);
  }
});

Deno.test("smtpd -n -v prints a legacy file converted to the modern grammar", async () => {
  const result = await smtpd("-n", "-v", "-f", "examples/seed-order.conf");
  assertEquals(result.code, 0);
  assertEquals(
    result.stdout,
    'action "relay" relay\n\nmatch from local for any reject\nmatch from auth for any reject\n' +
      'match from local for any action "relay"\nmatch from auth for any action "relay"\n\n' +
      "configuration OK\n",
  );
});

Deno.test("smtpd -n prints warnings but accepts the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/warn.conf`;
  await Deno.writeTextFile(
    path,
    `action "a" maildir\naction "b" mbox\nmatch for local action "a"\n`,
  );
  const result = await smtpd("-n", "-f", path);
  assertEquals(result.code, 0);
  assertStringIncludes(result.stderr, `${path}:2:1: warning: Action "b" is never used`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n refuses a table backend this build does not have, as the start does", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/socketmap.conf`;
  for (
    const [name, backend] of [["socketmap", "socketmap:/var/run/smtpd-socketmap"], [
      "fiel",
      "fiel:/etc/mail/aliases",
    ]]
  ) {
    await Deno.writeTextFile(
      path,
      `table users ${backend}\naction "a" mbox\nmatch for local action "a"\n`,
    );
    const result = await smtpd("-n", "-f", path);
    assertEquals(result.code, 1);
    assertStringIncludes(
      result.stderr,
      `${path}:1:7: Table "users": backend "${name}" is not supported by this build (backends: `,
    );
    assertEquals(result.stdout.includes("configuration OK"), false);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("makemap and newaliases build db tables the daemon reads", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\nstaff: alice, bob\n");
  const made = await smtpd("newaliases", "-f", `${dir}/aliases`);
  assertEquals(made.code, 0);
  const dump = await smtpd("makemap", "-U", `${dir}/aliases.db`);
  assertEquals(dump.stdout, "postmaster\troot\nstaff\talice, bob\n");
  assertEquals((await smtpd("makemap", `${dir}/missing`)).code, 66);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpctl encrypt prints a SHA-512 crypt hash of its argument or of stdin", async () => {
  const byArg = await smtpd("smtpctl", "encrypt", "wonderland");
  assertEquals(byArg.code, 0);
  const hash = byArg.stdout.trim();
  assertEquals(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/.test(hash), true, hash);
  const { checkPassword } = await import("../../src/auth/mod.ts");
  assertEquals(checkPassword(hash, "wonderland"), { ok: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "smtpctl", "encrypt"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("from stdin\n"));
  await writer.close();
  const output = new TextDecoder().decode((await child.output()).stdout).trim();
  assertEquals(checkPassword(output, "from stdin"), { ok: true });
});

Deno.test("smtpd refuses to start with another queue encryption key, and says why", async () => {
  const dir = await Deno.makeTempDir();
  const conf = (key: string) =>
    `queue path "${dir}/queue"\nqueue encryption ${key}\nlisten on 127.0.0.1 port 0\n` +
    `action "a" maildir "${dir}/mail"\nmatch for local action "a"\n`;
  // The first key seals the queue (a sendmail run opens it and stores the check value).
  await Deno.writeTextFile(`${dir}/a.conf`, conf("aa".repeat(32)));
  const first = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "mailq", "-C", `${dir}/a.conf`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(first.code, 0);
  await Deno.writeTextFile(`${dir}/b.conf`, conf("bb".repeat(32)));
  const result = await smtpd("-d", "-u", "root", "-f", `${dir}/b.conf`);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "The queue encryption key is not the one");
  await Deno.writeTextFile(`${dir}/c.conf`, conf("too-short"));
  const short = await smtpd("-d", "-u", "root", "-f", `${dir}/c.conf`);
  assertEquals(short.code, 1);
  assertStringIncludes(short.stderr, "must be 32 bytes");
  await Deno.remove(dir, { recursive: true });
});
