// The SMTP front's module cache is kept in the queue directory from one start to the next,
// the front's alone; a cache the front's user cannot own is made anew. Skipped, with the
// reason printed, when not root or without setpriv.

import { assertEquals, assertTrue } from "../assert.ts";
import { freePort, sendMessage, waitListening } from "../_helpers.ts";
import { accountIds, ensureFrontUser, skipReason } from "./_privsep.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** Starts the root daemon on a free port, sends one message, stops it; returns its exit code. */
async function startSendStop(dir: string): Promise<number> {
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "keep" relay host "smtp://127.0.0.1:9"
match from any for domain "cache.test" action "keep"
`,
  );
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-f", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitListening(port, 60_000);
    const reply = await sendMessage(port, {
      from: "a@client.test",
      to: ["u@cache.test"],
      body: "Subject: kept cache\n\nhello",
    });
    assertTrue(reply.startsWith("250 "), reply);
  } finally {
    daemon.kill("SIGTERM");
  }
  return (await daemon.status).code;
}

Deno.test("as root, the front's module cache stays in the queue between starts, the front's own", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: front cache test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-front-cache-" });
  await Deno.chmod(dir, 0o755);
  try {
    const front = await accountIds("_smtpd");
    // A cache left by another owner (root here): the front could not write to it.
    const cache = `${dir}/queue/front-cache`;
    await Deno.mkdir(cache, { recursive: true });
    await Deno.writeTextFile(`${cache}/left-by-root`, "");

    assertEquals(await startSendStop(dir), 0);
    const made = await Deno.lstat(cache);
    assertEquals([made.isDirectory, made.uid, made.gid, (made.mode ?? 0) & 0o7777], [
      true,
      front.uid,
      front.gid,
      0o700,
    ]);
    const names: string[] = [];
    for await (const entry of Deno.readDir(cache)) names.push(entry.name);
    assertTrue(!names.includes("left-by-root"), `${names}`);
    // What the front compiled, and the npm packages linked for it.
    assertTrue(names.includes("gen") && names.includes("npm"), `${names}`);
    const linked = await Deno.stat(`${cache}/linked-packages`);
    // The runtime's caches (SQLite files) and their -wal and -shm files are the front's:
    // it adds what it compiles to its code cache, so that the next start compiles less.
    for (const name of names.filter((n) => /_cache_v2(-wal|-shm)?$/.test(n))) {
      const file = await Deno.lstat(`${cache}/${name}`);
      assertEquals([name, file.uid, file.gid], [name, front.uid, front.gid]);
    }
    assertTrue(names.includes("v8_code_cache_v2"), `${names}`);
    const codeCache = async () =>
      (await Deno.stat(`${cache}/v8_code_cache_v2`)).size +
      ((await Deno.stat(`${cache}/v8_code_cache_v2-wal`).catch(() => undefined))?.size ?? 0);
    const compiled = await codeCache();

    // The next start takes the same cache as it is: its links are not made again.
    assertEquals(await startSendStop(dir), 0);
    const again = await Deno.stat(`${cache}/linked-packages`);
    assertEquals(again.mtime?.getTime(), linked.mtime?.getTime());
    assertEquals((await Deno.lstat(cache)).uid, front.uid);
    // The code cache the front wrote at its first start is still there (not made anew).
    assertTrue(await codeCache() >= compiled, `code cache ${await codeCache()} < ${compiled}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
