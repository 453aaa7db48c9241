import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects, assertTrue } from "../../test/assert.ts";
import type { NewMessage } from "./envelope.ts";
import { openQueue } from "./sqlite_store.ts";

function message(n: number, rcpts = ["u@example.test"]): NewMessage {
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode(`Subject: ${n}\r\n\r\nbody ${n}\r\n`),
    envelopes: rcpts.map((rcpt) => ({ rcpt, action: "local", user: "u" })),
  };
}

Deno.test("Queue.commit() stores a message row and one envelope per recipient, durably", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const msgid = await queue.commit(message(1, ["a@example.test", "b@example.test"]));
  queue.close();
  // Read the file as another program would.
  const db = new DatabaseSync(`${dir}/queue.sqlite`, { readOnly: true });
  const rows = db.prepare("SELECT msgid, rcpt, state FROM envelopes ORDER BY rcpt").all();
  assertEquals(rows.map((r) => [r.msgid, r.rcpt, r.state]), [
    [msgid, "a@example.test", "queued"],
    [msgid, "b@example.test", "queued"],
  ]);
  const journal = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
  assertEquals(journal.journal_mode, "wal");
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.commit() puts the commits of one event-loop turn in one transaction", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const before = queue.stats().commits;
  const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => queue.commit(message(n))));
  assertEquals(new Set(ids).size, 50);
  assertEquals(queue.stats().commits - before, 1);
  assertEquals(queue.stats().queued, 50);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.commit() fails alone on a duplicate id and the rest of the batch commits", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  await queue.commit({ ...message(1), msgid: "0000abcd" });
  const [dup, ok] = await Promise.allSettled([
    queue.commit({ ...message(2), msgid: "0000abcd" }),
    queue.commit(message(3)),
  ]);
  assertEquals(dup.status, "rejected");
  assertEquals(ok.status, "fulfilled");
  assertEquals(queue.stats().messages, 2);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.commit() rejects a write the file refuses, and later commits succeed", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  // A message without content violates the schema, so its write fails.
  const bad = { ...message(1), content: null as unknown as Uint8Array };
  await assertRejects(() => queue.commit(bad));
  await queue.commit(message(2));
  assertEquals(queue.stats().messages, 1);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue results: delivered envelopes go, the message goes with its last one", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  await queue.commit(message(1, ["a@example.test", "b@example.test"]));
  const [a, b] = queue.claimDue(Date.now() + 1, 10);
  assertTrue(a && b);
  await queue.markDelivered(a);
  assertEquals(queue.stats(), { ...queue.stats(), messages: 1, queued: 1 });
  await queue.markDeferred(b, Date.now() + 60_000, "mailbox busy");
  assertEquals(queue.claimDue(Date.now() + 1, 10).length, 0);
  const [deferred] = queue.envelopes();
  assertEquals([deferred?.attempts, deferred?.lastError], [1, "mailbox busy"]);
  await queue.markFailed(b, "no such user");
  assertEquals(queue.stats().failed, 1);
  assertEquals(queue.nextTry(), undefined);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("leases: two processes sharing the file never claim the same envelope", async () => {
  const dir = await Deno.makeTempDir();
  const a = await openQueue(dir, { owner: "host:1" });
  const b = await openQueue(dir, { owner: "host:2" });
  await a.commit(message(1, Array.from({ length: 10 }, (_, n) => `u${n}@example.test`)));
  const now = Date.now() + 1;
  const first = a.claimDue(now, 6);
  const second = b.claimDue(now, 100);
  assertEquals([first.length, second.length], [6, 4]);
  assertEquals(new Set([...first, ...second].map((e) => e.evpid)).size, 10);
  assertEquals(a.claimDue(now, 100).length, 0, "nothing is left free");
  // Process 2 dies: its leases are taken back; process 1 is alive and keeps its own.
  assertEquals(a.releaseStaleLeases({ stateOf: (h) => h.pid === 2 ? "gone" : "alive" }), 4);
  assertEquals(a.claimDue(now, 100).length, 4);
  // A deferred envelope is free again once due.
  await a.markDeferred(first[0]!, now, "busy");
  assertEquals(b.claimDue(now, 100).map((e) => e.evpid), [first[0]!.evpid]);
  a.close();
  b.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("leases: a process knows its own leases though its name's start second came out one off", async () => {
  // The start second is reckoned from the uptime's whole seconds and the clock: two
  // reckonings in one process may differ by one, and its leases are still its own.
  const dir = await Deno.makeTempDir();
  const before = await openQueue(dir, { owner: "host:7@1000" });
  await before.commit(message(1, ["u@example.test"]));
  const now = Date.now() + 1;
  assertEquals(before.claimDue(now, 10).length, 1);
  before.close();
  const after = await openQueue(dir, { owner: "host:7@1001" });
  const asked: string[] = [];
  const stateOf = (h: { pid: number }) => {
    asked.push(String(h.pid));
    return "unknown" as const;
  };
  assertEquals(after.releaseStaleLeases({ own: true, stateOf }), 1);
  assertEquals(asked, [], "its own lease is not taken for another process's");
  assertEquals(after.claimDue(now, 10).length, 1);
  after.close();
  // Three seconds apart, the same pid is another process (a reused pid): asked about.
  const later = await openQueue(dir, { owner: "host:7@1004" });
  assertEquals(later.releaseStaleLeases({ own: true, stateOf }), 0);
  assertEquals(asked, ["7"]);
  later.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the queue migrates a version 2 file, keeping its envelopes", async () => {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/queue.sqlite`);
  db.exec(`
CREATE TABLE messages (msgid TEXT PRIMARY KEY, sender TEXT NOT NULL, helo TEXT NOT NULL,
  src TEXT NOT NULL, created_at INTEGER NOT NULL, size INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0, content BLOB NOT NULL, dsn_ret TEXT, dsn_envid TEXT,
  smtputf8 INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE envelopes (evpid TEXT PRIMARY KEY, msgid TEXT NOT NULL REFERENCES messages(msgid),
  rcpt TEXT NOT NULL, action TEXT NOT NULL, user TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'failed')), created_at INTEGER NOT NULL,
  next_try INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  dsn_notify TEXT, dsn_orcpt TEXT) STRICT;
INSERT INTO messages VALUES ('0badc0de', 's@x.test', 'x', '127.0.0.1', 1000, 3, 0, x'616263', NULL, NULL, 0);
INSERT INTO envelopes VALUES ('0badc0de00000001', '0badc0de', 'r@y.test', 'local', NULL, 'queued', 1000, 1000, 2, 'busy', NULL, NULL);
PRAGMA user_version=2;`);
  db.close();
  const queue = await openQueue(dir);
  const [e] = queue.envelopes();
  assertEquals([e?.evpid, e?.attempts, e?.lastError, e?.expiresAt], [
    "0badc0de00000001",
    2,
    "busy",
    1000 + 4 * 86_400_000,
  ]);
  assertEquals(new TextDecoder().decode(await queue.content("0badc0de")), "abc");
  assertEquals(queue.integrityCheck(), "ok");
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.commit() gives a message another id when its random one is taken", async () => {
  const dir = await Deno.makeTempDir();
  const ids = ["0000aaaa", "0000aaaa", "0000aaaa", "0000bbbb"];
  const queue = await openQueue(dir, { messageIds: () => ids.shift()! });
  const first = await queue.commit(message(1));
  const second = await queue.commit(message(2));
  assertEquals([first, second], ["0000aaaa", "0000bbbb"]);
  assertEquals(queue.stats().messages, 2);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.commit() gives every envelope of a 100,000-recipient message an id of its own", async () => {
  // Drawn independently, two of 100,000 ids would collide with a probability of 69%.
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const rcpts = Array.from({ length: 100_000 }, (_, n) => `r${n}@example.test`);
  // The message id given, as a session gives the one its Received: header names: the
  // queue cannot take another when an envelope id collides.
  const msgid = await queue.commit({ ...message(1, rcpts), msgid: "0a1b2c3d" });
  assertEquals(msgid, "0a1b2c3d");
  queue.close();
  const db = new DatabaseSync(`${dir}/queue.sqlite`, { readOnly: true });
  const row = db.prepare(
    "SELECT count(*) AS n, count(DISTINCT evpid) AS ids, min(substr(evpid, 1, 8)) AS lo, max(substr(evpid, 1, 8)) AS hi FROM envelopes",
  ).get() as { n: number; ids: number; lo: string; hi: string };
  assertEquals([row.n, row.ids, row.lo, row.hi], [100_000, 100_000, msgid, msgid]);
  db.close();
  await Deno.remove(dir, { recursive: true });
});
