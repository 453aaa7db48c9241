// A root process writes a user's mailbox through children running as that user: under
// a burst of writes for one user, a second child shares the work, and no more.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { createMailboxWriter } from "./mailbox_writer.ts";
import { createWriterPool } from "./mailbox_writer_pool.ts";

// An account of its own (ids no other test's children run as: test modules share this
// process, and ps(1) counts its children by uid).
const POOL_USER = { name: "poolwriter", uid: 65533, gid: 65533, home: "/nonexistent" };

// The children of this process running as the uid, as ps(1) lists them (reading /proc
// itself needs every permission).
async function childrenAs(uid: number): Promise<number[]> {
  const out = await new Deno.Command("ps", {
    args: ["--ppid", String(Deno.pid), "-o", "pid=,ruid="],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const [pid, real] = line.trim().split(/\s+/).map(Number);
    return real === uid && pid !== undefined ? [pid] : [];
  });
}

Deno.test("a burst of writes for one user goes through at most two children running as that user", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: mailbox writer pool test: not running as root");
    return;
  }
  try {
    await childrenAs(0);
  } catch {
    console.log("skipped: mailbox writer pool test: ps(1) is not installed");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-writer-pool-" });
  await Deno.chmod(dir, 0o755);
  const maildir = `${dir}/Maildir`;
  await Deno.mkdir(maildir);
  await Deno.chown(maildir, POOL_USER.uid, POOL_USER.gid);
  const writer = createMailboxWriter({ log: SILENT_LOGGER, asUsers: true });
  const content = new TextEncoder().encode("Subject: pool\r\n\r\nbody\r\n");
  let most = 0;
  try {
    const writes = Array.from({ length: 40 }, (_, n) =>
      writer.write(POOL_USER, {
        kind: "maildir",
        dir: maildir,
        returnPath: "a@client.test",
        deliveredTo: "nobody@example.test",
        evpid: `e${n}`,
        recovered: false,
      }, content));
    const counting = (async () => {
      let settled = false;
      void Promise.allSettled(writes).then(() => settled = true);
      while (!settled) {
        most = Math.max(most, (await childrenAs(POOL_USER.uid)).length);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await Promise.all(writes);
    await counting;
    most = Math.max(most, (await childrenAs(POOL_USER.uid)).length);
  } finally {
    await writer.close();
  }
  const files = [];
  for await (const entry of Deno.readDir(`${maildir}/new`)) files.push(entry.name);
  assertEquals(files.length, 40);
  for (const name of files) {
    assertEquals((await Deno.stat(`${maildir}/new/${name}`)).uid, POOL_USER.uid);
  }
  assertEquals(most, 2, `children seen at once: ${most}`);
  assertTrue((await childrenAs(POOL_USER.uid)).length === 0, "a child outlived close()");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("createWriterPool() fails a write its writer never answered with the user and how the writer ended", async () => {
  const requests = new TransformStream<Uint8Array, Uint8Array>();
  const answers = new TransformStream<Uint8Array, Uint8Array>();
  const killed = Promise.withResolvers<Deno.CommandStatus>();
  const pool = createWriterPool(() => ({
    channel: {
      readable: answers.readable,
      writable: requests.writable,
      close: () => Promise.resolve(),
    },
    connected: Promise.resolve(true),
    exited: killed.promise,
  }), { log: SILENT_LOGGER });
  const request = {
    kind: "maildir" as const,
    dir: "/nonexistent/Maildir",
    returnPath: "a@client.test",
    deliveredTo: "bob@example.test",
    evpid: "e1",
    recovered: false,
  };
  const write = pool.writeMany(POOL_USER, [request], new TextEncoder().encode("body\r\n"));
  // The writer reads its request, then is killed before it answers.
  const reader = requests.readable.getReader();
  await reader.read();
  killed.resolve({ success: false, code: 137, signal: "SIGKILL" });
  await answers.writable.close();
  const failure = await write.then(() => "written", (error: Error) => error.message);
  assertEquals(failure, "mailbox writer for poolwriter exited (signal KILL)");
  reader.releaseLock();
  await requests.readable.cancel();
  await pool.close();
});
