// The MDA runner against real `/bin/sh` children in a temporary home: the environment,
// the input, the exit statuses read as sysexits(3), timeouts, and shellSafe against
// addresses built to reach a shell.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { type MdaRun, runMda, shellSafe } from "./mda.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const MESSAGE = "Subject: hello\r\nFrom: alice@example.org\r\n\r\nline one\r\nline two\r\n";

// Variables the shell sets on its own, whatever environment it was given.
const SHELL_OWN = new Set(["PWD", "OLDPWD", "SHLVL", "_"]);

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "mda_test_" }));
  try {
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function mdaRun(home: string, command: string, overrides: Partial<MdaRun> = {}): MdaRun {
  return {
    command,
    content: encoder.encode(MESSAGE),
    sender: "alice@example.org",
    rcpt: "postmaster@example.com",
    dest: "bob+lists@example.com",
    user: { name: "bob", uid: 1000, gid: 1000, home },
    ...overrides,
  };
}

function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split("\n")) {
    const equals = line.indexOf("=");
    if (equals > 0) env.set(line.slice(0, equals), line.slice(equals + 1));
  }
  return env;
}

function reasonOf(result: DeliveryResult): string {
  return result.kind === "ok" ? "" : result.reason;
}

Deno.test("runMda gives the command exactly the MDA environment, in the user's home", async () => {
  await withHome(async (home) => {
    const result = await runMda(
      mdaRun(home, "env > env.txt; pwd > cwd.txt; cat > stdin.txt", { extension: "lists" }),
    );
    assertEquals(result, { kind: "ok" });
    const env = parseEnv(await Deno.readTextFile(`${home}/env.txt`));
    for (const name of SHELL_OWN) env.delete(name);
    assertEquals(
      Object.fromEntries([...env].sort(([a], [b]) => a.localeCompare(b))),
      {
        DOMAIN: "example.com",
        EXTENSION: "lists",
        HOME: home,
        LOCAL: "bob+lists",
        LOGNAME: "bob",
        ORIGINAL_RECIPIENT: "postmaster@example.com",
        PATH: "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin",
        RECIPIENT: "bob+lists@example.com",
        SENDER: "alice@example.org",
        SHELL: "/bin/sh",
        USER: "bob",
      },
    );
    // Nothing of the daemon's own environment leaks through.
    for (const name of ["DENO_DIR", "HOSTNAME", "TERM", "LANG", "TMPDIR"]) {
      assertEquals(env.has(name), false, `${name} leaked into the MDA environment`);
    }
    assertEquals((await Deno.readTextFile(`${home}/cwd.txt`)).trim(), home);
  });
});

Deno.test("runMda feeds Return-Path, Delivered-To and the message with LF line ends", async () => {
  await withHome(async (home) => {
    assertEquals(await runMda(mdaRun(home, "cat > stdin.txt")), { kind: "ok" });
    const input = await Deno.readTextFile(`${home}/stdin.txt`);
    assertEquals(
      input,
      "Return-Path: <alice@example.org>\nDelivered-To: postmaster@example.com\n" +
        MESSAGE.replaceAll("\r\n", "\n"),
    );
    assertEquals(input.includes("\r"), false);
  });
});

Deno.test("runMda omits Return-Path and EXTENSION for a bounce without a tag", async () => {
  await withHome(async (home) => {
    const run = mdaRun(home, "env > env.txt; cat > stdin.txt", { sender: "" });
    assertEquals(await runMda(run), { kind: "ok" });
    const env = parseEnv(await Deno.readTextFile(`${home}/env.txt`));
    assertEquals(env.get("SENDER"), "");
    assertEquals(env.has("EXTENSION"), false);
    const input = await Deno.readTextFile(`${home}/stdin.txt`);
    assertTrue(input.startsWith("Delivered-To: postmaster@example.com\nSubject: hello\n"));
  });
});

Deno.test("runMda passes 8-bit message bytes through unchanged", async () => {
  await withHome(async (home) => {
    // Latin-1 "café" and a stray byte that is no valid UTF-8: an MDA gets what was sent.
    const body = new Uint8Array([
      ...encoder.encode("Subject: x\r\n\r\ncaf"),
      0xe9,
      0xff,
      0x0d,
      0x0a,
    ]);
    assertEquals(await runMda(mdaRun(home, "cat > stdin.txt", { content: body })), { kind: "ok" });
    const input = await Deno.readFile(`${home}/stdin.txt`);
    assertEquals([...input.subarray(input.byteLength - 3)], [0xe9, 0xff, 0x0a]);
  });
});

Deno.test("runMda falls back to / when the home does not exist", async () => {
  await withHome(async (home) => {
    const gone = `${home}/missing`;
    const run = mdaRun(gone, `pwd > ${home}/cwd.txt; cat > /dev/null`);
    assertEquals(await runMda(run), { kind: "ok" });
    assertEquals((await Deno.readTextFile(`${home}/cwd.txt`)).trim(), "/");
  });
});

Deno.test("runMda reads exit 75 and 71 as a temporary failure", async () => {
  await withHome(async (home) => {
    const tempfail = await runMda(mdaRun(home, "cat > /dev/null; echo 'over quota' >&2; exit 75"));
    assertEquals(tempfail.kind, "tempfail");
    assertStringIncludes(reasonOf(tempfail), "75");
    assertStringIncludes(reasonOf(tempfail), "over quota");
    assertEquals((await runMda(mdaRun(home, "exit 71"))).kind, "tempfail");
  });
});

Deno.test("runMda reads other exit statuses as a permanent failure, with the last line said", async () => {
  await withHome(async (home) => {
    const command = "cat > /dev/null; echo 'looking up' >&2; echo 'no such mailbox' >&2; exit 67";
    const result = await runMda(mdaRun(home, command));
    assertEquals(result.kind, "permfail");
    assertStringIncludes(reasonOf(result), "67");
    assertMatch(reasonOf(result), /no such mailbox$/);
    // Nothing on stderr: the last line of stdout, else a plain word.
    const stdout = await runMda(mdaRun(home, "echo 'from stdout'; echo; exit 1"));
    assertEquals(stdout.kind, "permfail");
    assertMatch(reasonOf(stdout), /from stdout$/);
    const silent = await runMda(mdaRun(home, "exit 2"));
    assertEquals(silent.kind, "permfail");
    assertStringIncludes(reasonOf(silent), "2");
  });
});

Deno.test("runMda reads death by a signal as a temporary failure", async () => {
  await withHome(async (home) => {
    const result = await runMda(mdaRun(home, "cat > /dev/null; kill -TERM $$"));
    assertEquals(result, { kind: "tempfail", reason: "mda terminated; signal 15" });
  });
});

Deno.test("runMda does not throw when the command never reads a large message", async () => {
  await withHome(async (home) => {
    const line = "x".repeat(1023) + "\r\n";
    const content = encoder.encode("Subject: big\r\n\r\n" + line.repeat(1024));
    assertTrue(content.byteLength > 1024 * 1024);
    const unread = await runMda(mdaRun(home, "exit 0", { content }));
    assertEquals(unread.kind, "tempfail");
    const failed = await runMda(mdaRun(home, "echo nope >&2; exit 67", { content }));
    assertEquals(failed.kind, "permfail");
    assertMatch(reasonOf(failed), /nope$/);
  });
});

Deno.test("runMda tries again later when the command exits 0 without reading all the message", async () => {
  await withHome(async (home) => {
    const line = "y".repeat(1023) + "\r\n";
    const content = encoder.encode("Subject: big\r\n\r\n" + line.repeat(400));
    const result = await runMda(mdaRun(home, "head -c 100 > kept.txt; exit 0", { content }));
    // smtpd.conf(5): the command is expected to read all the mail content.
    assertEquals(result, { kind: "tempfail", reason: "mda exited prematurely" });
    assertEquals((await Deno.stat(`${home}/kept.txt`)).size, 100);
    // Read to the end, the same message is delivered.
    assertEquals(await runMda(mdaRun(home, "cat > all.txt", { content })), { kind: "ok" });
  });
});

Deno.test("runMda keeps only the end of a flood of output", async () => {
  await withHome(async (home) => {
    const command = "cat > /dev/null; yes noise | head -c 2000000 >&2; echo 'the end' >&2; exit 67";
    const result = await runMda(mdaRun(home, command));
    assertEquals(result.kind, "permfail");
    assertMatch(reasonOf(result), /the end$/);
    assertTrue(reasonOf(result).length < 8192);
  });
});

Deno.test("runMda kills a command that outlives its timeout and tries again later", async () => {
  await withHome(async (home) => {
    const started = performance.now();
    const result = await runMda(mdaRun(home, "sleep 5", { timeoutMs: 200 }));
    assertEquals(result.kind, "tempfail");
    assertTrue(performance.now() - started < 3000, "the timeout did not stop the command");
  });
});

Deno.test("runMda kills what the command started when it times out", async () => {
  await withHome(async (home) => {
    const command = "(sleep 0.5; touch late) & sleep 5";
    assertEquals((await runMda(mdaRun(home, command, { timeoutMs: 200 }))).kind, "tempfail");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const names: string[] = [];
    for await (const entry of Deno.readDir(home)) names.push(entry.name);
    assertEquals(names, [], "a child of the command outlived the timeout");
  });
});

Deno.test("runMda does not wait for a background child that keeps the pipes open", async () => {
  await withHome(async (home) => {
    const started = performance.now();
    // The command reads its input: one that exits first races its own exit against the
    // write, as in OpenSMTPD, and may be retried as "exited prematurely".
    assertEquals(await runMda(mdaRun(home, "cat >/dev/null; sleep 4 & exit 0")), { kind: "ok" });
    assertTrue(performance.now() - started < 3000, "waited for the background child");
  });
});

// Addresses made to run something, redirect, glob or split words once in a shell command.
const HOSTILE = [
  ";touch canary;@a",
  "$(touch canary)@a",
  "`touch canary`@a",
  "`id`@a",
  "a|touch canary@c",
  "a&touch canary&@c",
  "a>canary@c",
  "a>>canary@c",
  "a<b@c",
  "a<canary@c",
  '"x y"@a',
  "a\nb@c",
  "a\ntouch canary\n@c",
  "a\rb@c",
  "-oProxyCommand=x@a",
  "-n@a",
  "a'b@c",
  "a'$(touch canary)'@c",
  "a\\b@c",
  "{a,b}@c",
  "*@c",
  "a?b@c",
  "~root@c",
  "a#b@c",
  "a!b@c",
  "a%b@c",
  "a(b)@c",
  "a[b]@c",
  "a\tb@c",
  "a b@c",
  "${HOME}@c",
  "$HOME@c",
  "a;b@c",
  "a\0b@c",
  "<;touch canary;>",
  "a@c 2>canary",
  "a\u00a0b@c",
];

Deno.test("shellSafe leaves ordinary addresses alone", () => {
  for (
    const address of [
      "bob@example.com",
      "bob+lists@example.com",
      "first.last@sub.example.org",
      "a_b-c=d,e:f/g@h",
      "élodie@exemple.fr",
      "用户@例子.中国",
    ]
  ) {
    assertEquals(shellSafe(address), address);
  }
  assertEquals(shellSafe("-bob@example.com"), "_bob@example.com");
  assertEquals(shellSafe(";touch /tmp/x;@a"), "_touch_/tmp/x_@a");
});

Deno.test("shellSafe output is inert in a shell command", async () => {
  assertTrue(HOSTILE.length >= 20);
  for (const address of HOSTILE) {
    const safe = shellSafe(address);
    assertMatch(safe, /^[\p{L}\p{N}@._+=,:/][\p{L}\p{N}@._+=,:/-]*$/u, JSON.stringify(address));
    await withHome(async (dir) => {
      const { code } = await new Deno.Command("/bin/sh", {
        args: ["-c", "echo " + safe + " > out"],
        cwd: dir,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", HOME: dir },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      assertEquals(code, 0, JSON.stringify(address));
      const names: string[] = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry.name);
      assertEquals(names, ["out"], `${JSON.stringify(address)} made the shell create files`);
      const out = decoder.decode(await Deno.readFile(`${dir}/out`));
      assertEquals(out, safe + "\n", JSON.stringify(address));
    });
  }
});
