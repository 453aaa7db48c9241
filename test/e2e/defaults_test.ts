// The defaults table is the one source: what the parser, the queue, the SMTP session and the
// commands use when nothing is said is what src/config/defaults.ts exports, and no other file
// writes those values down again.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import {
  CONFIG_PATH_VARIABLE,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SMTP_LIMITS,
  DEFAULTS,
  formatDuration,
} from "../../src/config/mod.ts";
import { openQueue } from "../../src/queue/mod.ts";
import { DEFAULT_LIMITS } from "../../src/smtp/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function smtpd(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("smtpd -n -v prints the same for no queue section as for the default queue ttl", async () => {
  const dir = await Deno.makeTempDir();
  const rules = `action "a" maildir\nmatch for local action "a"\n`;
  await Deno.writeTextFile(`${dir}/none.conf`, rules);
  await Deno.writeTextFile(
    `${dir}/stated.conf`,
    `queue ttl ${formatDuration(DEFAULTS.queueTtl)}\n${rules}`,
  );
  await Deno.writeTextFile(`${dir}/other.conf`, `queue ttl 5d\n${rules}`);
  const none = await smtpd(["-n", "-v", "-f", `${dir}/none.conf`]);
  const stated = await smtpd(["-n", "-v", "-f", `${dir}/stated.conf`]);
  const other = await smtpd(["-n", "-v", "-f", `${dir}/other.conf`]);
  assertEquals([none.code, stated.code, other.code], [0, 0, 0]);
  assertEquals(stated.stdout, none.stdout);
  assertEquals(none.stdout.includes("queue ttl"), false);
  assertStringIncludes(other.stdout, "queue ttl 5d\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an envelope queued without a ttl expires DEFAULTS.queueTtl after it was queued", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  try {
    await queue.commit({
      sender: "a@client.test",
      helo: "client.test",
      src: "127.0.0.1",
      content: new TextEncoder().encode("Subject: ttl\r\n\r\nbody\r\n"),
      envelopes: [{ rcpt: "u@example.test", action: "local", user: "u" }],
    });
    const [envelope] = queue.envelopes();
    assertEquals(envelope!.expiresAt - envelope!.createdAt, DEFAULTS.queueTtl * 1000);
  } finally {
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the SMTP session's default limits are DEFAULT_SMTP_LIMITS", () => {
  assertEquals({ ...DEFAULT_LIMITS }, { ...DEFAULT_SMTP_LIMITS });
});

Deno.test("smtpd reads $SMTPD_CONFIG, else DEFAULT_CONFIG_PATH, when -f is not given", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/env.conf`;
  await Deno.writeTextFile(path, `match from any for any acton "x"\n`);
  const fromEnv = await smtpd(["-n"], { [CONFIG_PATH_VARIABLE]: path });
  assertEquals(fromEnv.code, 1);
  assertStringIncludes(fromEnv.stderr, `${path}:1:`);
  await Deno.remove(dir, { recursive: true });
  let exists = true;
  try {
    await Deno.stat(DEFAULT_CONFIG_PATH);
  } catch {
    exists = false;
  }
  if (exists) {
    console.log(`skipped the default-path half: ${DEFAULT_CONFIG_PATH} exists on this machine`);
    return;
  }
  const fromDefault = await smtpd(["-n"], { [CONFIG_PATH_VARIABLE]: "" });
  assertEquals(fromDefault.code, 1);
  assertStringIncludes(fromDefault.stderr, `"${DEFAULT_CONFIG_PATH}"`);
});

// Written-out copies are how defaults drift: only src/config/defaults.ts may spell these.
Deno.test("no source file but src/config/defaults.ts writes down a default's value", async () => {
  const copies = [
    /["'`]\/etc\/mail\/smtpd\.conf["'`]/,
    /["'`]SMTPD_CONFIG["'`]/,
    /\b345_?600(_?000)?\b/,
    /4 \* 24 \* 3600/,
    /["'`]\/etc\/mail\/aliases["'`]/,
    /\?\? 300_?000\b/,
    /35 \* 1024 \* 1024/,
    /\b(?:idleTimeoutMs|dataTimeoutMs|commandLineMax|textLineMax): \d/,
  ];
  const found: string[] = [];
  for await (const file of sourceFiles(`${ROOT}src`)) {
    if (file.endsWith("/src/config/defaults.ts")) continue;
    const text = await Deno.readTextFile(file);
    for (const copy of copies) {
      if (copy.test(text)) found.push(`${file.slice(ROOT.length)}: ${copy}`);
    }
  }
  const cli = await Deno.readTextFile(`${ROOT}cli.ts`);
  for (const copy of copies) if (copy.test(cli)) found.push(`cli.ts: ${copy}`);
  assertEquals(found, []);
});

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}
