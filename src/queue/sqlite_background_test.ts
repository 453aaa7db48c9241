// The daemon's queue file commits without SQLite's fsync inside COMMIT (the log is synced
// after it) and checkpoints in a worker thread: what another program reading the file sees.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertTrue } from "../../test/assert.ts";
import type { NewMessage } from "./envelope.ts";
import { openQueue } from "./sqlite_store.ts";
import { WalSync } from "./sqlite_wal_sync.ts";
import { BackgroundCheckpointer } from "./sqlite_checkpointer.ts";

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

Deno.test("the background checkpointer copies a large log into the file, the writer's own checkpoints off", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/queue.sqlite`;
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (x BLOB)");
  const checkpointer = BackgroundCheckpointer.start(file);
  const before = await fileSize(file);
  // About 6 MB: past the checkpointer's 4 MB, and nothing else checkpoints.
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let n = 0; n < 96; n++) insert.run(new Uint8Array(64 * 1024).fill(n));
  const deadline = Date.now() + 60_000;
  while (await fileSize(file) < before + 6_000_000 && Date.now() < deadline) {
    checkpointer.committed();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assertTrue(await fileSize(file) >= before + 6_000_000, "the log was not checkpointed");
  checkpointer.close();
  await checkpointer.ended;
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpointer whose file is gone before it opens ends quietly, failing nothing", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.remove(dir);
  // A queue closed and removed at once (a test's scratch directory) leaves its worker this.
  const checkpointer = BackgroundCheckpointer.start(`${dir}/queue.sqlite`);
  await checkpointer.ended;
  checkpointer.close();
});

Deno.test("the daemon's queue, checkpointed in the background, keeps every message", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir, { backgroundCheckpoints: true });
  const file = `${dir}/queue.sqlite`;
  for (let batch = 0; batch < 24; batch++) {
    await Promise.all(
      Array.from({ length: 8 }, (_, n) => queue.commit(message(batch * 8 + n, 32 * 1024))),
    );
  }
  const deadline = Date.now() + 60_000;
  while (await fileSize(file) < 6_000_000 && Date.now() < deadline) {
    await queue.commit(message(1000, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assertTrue(await fileSize(file) >= 6_000_000, "the log was not checkpointed");
  const reader = new DatabaseSync(file, { readOnly: true });
  const { n } = reader.prepare("SELECT count(*) AS n FROM messages").get() as { n: number };
  assertTrue(n >= 193, `${n} messages`);
  reader.close();
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
