// The queue file when writing it fails: another process holding it busy, a full disk.
// Each write fails or waits whole, and the connection is ready for the next one.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects } from "../../test/assert.ts";
import { fill, leaveFree, mountTmpfs, unmountTmpfs } from "../../test/_tmpfs.ts";
import type { NewMessage } from "./envelope.ts";
import { openQueue } from "./sqlite_store.ts";

function message(subject: string, bodyBytes = 10): NewMessage {
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode(`Subject: ${subject}\r\n\r\n${"x".repeat(bodyBytes)}\r\n`),
    envelopes: [{ rcpt: `${subject}@example.test`, action: "local" }],
  };
}

Deno.test("a commit that finds the file busy waits its turn without blocking the process", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir, { busyTimeoutMs: 50 });
  const other = new DatabaseSync(`${dir}/queue.sqlite`);
  other.exec("BEGIN IMMEDIATE");
  // The lock is let go by a timer of this process: it can only fire if the waiting
  // commit leaves the event loop free.
  const released = new Promise<void>((resolve) =>
    setTimeout(() => {
      other.exec("COMMIT");
      resolve();
    }, 300)
  );
  const msgid = await queue.commit(message("busy"));
  await released;
  assertEquals(queue.envelopes().map((e) => [e.msgid, e.rcpt]), [[msgid, "busy@example.test"]]);
  other.close();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a batch that meets a full disk is rolled back whole, and the next one commits", async () => {
  const dir = await Deno.makeTempDir();
  const fs = `${dir}/fs`;
  await Deno.mkdir(fs);
  const skip = await mountTmpfs(fs, "8m");
  if (skip) {
    console.log(`skipped: full-disk batch test: ${skip}`);
    await Deno.remove(dir, { recursive: true });
    return;
  }
  const queue = await openQueue(`${fs}/queue`);
  try {
    await queue.commit(message("first"));
    const [first] = queue.claimDue(Date.now() + 1, 10);
    await fill(`${fs}/filler`);
    await leaveFree(`${fs}/filler`, 1024 * 1024);
    // One batch: a result, a message bigger than SQLite's page cache (it spills to the
    // file before COMMIT, and the full disk ends the whole transaction there), a removal
    // and a small message. None of it is written, and each says why.
    const writes = [
      queue.markDeferred(first!, Date.now() + 60_000, "4.0.0 try later"),
      queue.commit(message("big", 3_000_000)),
      queue.remove([first!]),
      queue.commit(message("small")),
    ];
    const settled = await Promise.allSettled(writes);
    for (const outcome of settled) {
      await assertRejects(
        () => outcome.status === "rejected" ? Promise.reject(outcome.reason) : Promise.resolve(),
        Error,
        "database or disk is full",
      );
    }
    assertEquals(queue.envelopes().map((e) => [e.rcpt, e.attempts]), [["first@example.test", 0]]);

    await Deno.remove(`${fs}/filler`);
    await queue.commit(message("after"));
    await queue.markDeferred(first!, Date.now() + 60_000, "4.0.0 try later");
    assertEquals(
      queue.envelopes().map((e) => [e.rcpt, e.attempts]).sort(),
      [["after@example.test", 0], ["first@example.test", 1]],
    );
    assertEquals(queue.integrityCheck(), "ok");
    assertEquals(queue.stats().messages, 2);
  } finally {
    queue.close();
    await unmountTmpfs(fs);
    await Deno.remove(dir, { recursive: true });
  }
});
