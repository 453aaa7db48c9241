// The daemon's queue file commits without SQLite's fsync inside COMMIT (the log is synced
// after it) and checkpoints in a worker thread: what another program reading the file sees.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertTrue } from "../../test/assert.ts";
import type { NewMessage } from "./envelope.ts";
import { openQueue } from "./sqlite_store.ts";
import { WalSync } from "./sqlite_wal_sync.ts";

function message(n: number, bytes: number): NewMessage {
  const body = "x".repeat(bytes);
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode(`Subject: ${n}\r\n\r\n${body}\r\n`),
    envelopes: [{ rcpt: "u@example.test", action: "local", user: "u" }],
  };
}

async function fileSize(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

Deno.test("the daemon's queue copies its log into the file in the background, below SQLite's own checkpoint size", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir, { backgroundCheckpoints: true });
  const file = `${dir}/queue.sqlite`;
  const before = await fileSize(file);
  // About 2 MB: half of SQLite's automatic checkpoint (1,000 pages), so without the
  // worker the file would stay as it was until the queue is closed.
  for (let batch = 0; batch < 8; batch++) {
    await Promise.all(
      Array.from({ length: 8 }, (_, n) => queue.commit(message(batch * 8 + n, 32 * 1024))),
    );
  }
  const deadline = Date.now() + 60_000;
  while (await fileSize(file) < before + 2_000_000 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assertTrue(await fileSize(file) >= before + 2_000_000, "the log was not checkpointed");
  // Another reader sees every message, from the file or its log.
  const db = new DatabaseSync(file, { readOnly: true });
  assertEquals((db.prepare("SELECT count(*) AS n FROM messages").get() as { n: number }).n, 64);
  db.close();
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("WalSync: none for a file without a log; syncs waiting at close are settled by it", async () => {
  const dir = await Deno.makeTempDir();
  const plain = new DatabaseSync(`${dir}/plain.sqlite`);
  plain.exec("PRAGMA journal_mode=DELETE; CREATE TABLE t (x)");
  assertEquals(WalSync.open(`${dir}/plain.sqlite`), undefined);
  plain.close();
  const wal = new DatabaseSync(`${dir}/wal.sqlite`);
  wal.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
  const sync = WalSync.open(`${dir}/wal.sqlite`);
  assertTrue(sync !== undefined);
  await sync.sync();
  const settled: string[] = [];
  const first = sync.sync().then(() => settled.push("first"));
  const second = sync.sync().then(() => settled.push("second"));
  sync.close();
  await Promise.all([first, second]);
  assertEquals(settled.sort(), ["first", "second"]);
  let refused = false;
  await sync.sync().catch(() => refused = true);
  assertTrue(refused, "a sync after close was not refused");
  wal.close();
  await Deno.remove(dir, { recursive: true });
});
