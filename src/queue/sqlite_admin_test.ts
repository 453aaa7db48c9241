import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "../../test/assert.ts";
import type { NewMessage } from "./envelope.ts";
import { openQueue } from "./sqlite_store.ts";

function message(rcpts: string[]): NewMessage {
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode("Subject: x\r\n\r\nbody\r\n"),
    envelopes: rcpts.map((rcpt) => ({ rcpt, action: "local", user: "u" })),
  };
}

Deno.test("Queue.pause() keeps an envelope from being picked or scheduled until resumed", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const msgid = await queue.commit(message(["a@example.test", "b@example.test"]));
  const a = queue.envelopes().find((e) => e.rcpt === "a@example.test");
  const b = queue.envelopes().find((e) => e.rcpt === "b@example.test");
  assertEquals(queue.pause({ id: a!.evpid }, true), 1);
  assertEquals(queue.pause({ id: a!.evpid }, true), 0, "paused already");
  assertEquals(queue.envelopes().find((e) => e.evpid === a!.evpid)?.paused, true);
  const now = Date.now() + 1000;
  assertEquals(queue.claimDue(now, 10).map((e) => e.evpid), [b!.evpid]);
  assertEquals(queue.schedule({ all: true }, now), 0, "b is leased, a is paused");
  assertEquals(queue.pause({ id: msgid }, false), 1);
  assertEquals(queue.claimDue(now, 10).map((e) => e.evpid), [a!.evpid]);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Queue.removeSelected() removes by envelope, by message, or all; a held envelope stays", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  const first = await queue.commit(message(["a@example.test", "b@example.test"]));
  const third = await queue.commit(message(["d@example.test"]));
  const a = queue.envelopes().find((e) => e.msgid === first);
  assertEquals(queue.removeSelected({ id: a!.evpid }), { removed: 1, inFlight: 0 });
  assertEquals(queue.removeSelected({ id: first }), { removed: 1, inFlight: 0 });
  assertEquals(await queue.content(first), undefined, "a message without envelopes is gone");
  // d is being delivered (leased): remove all leaves it, and removes what is free.
  assertEquals(queue.claimDue(Date.now() + 1000, 10).map((e) => e.msgid), [third]);
  const second = await queue.commit(message(["c@example.test"]));
  assertEquals(queue.removeSelected({ all: true }), { removed: 1, inFlight: 1 });
  assertEquals(await queue.content(second), undefined);
  assertEquals(queue.envelopes().map((e) => e.msgid), [third]);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openQueue() adds the paused flag to a version 3 queue file, keeping its envelopes", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  await queue.commit(message(["a@example.test"]));
  queue.close();
  // Back to version 3, as an older build left it.
  const db = new DatabaseSync(`${dir}/queue.sqlite`);
  db.exec(
    "ALTER TABLE envelopes DROP COLUMN paused; ALTER TABLE envelopes DROP COLUMN expanded; " +
      "PRAGMA user_version=3;",
  );
  db.close();
  const reopened = await openQueue(dir);
  assertEquals(reopened.envelopes().length, 1);
  assertEquals(reopened.pause({ all: true }, true), 1);
  reopened.close();
  await Deno.remove(dir, { recursive: true });
});
