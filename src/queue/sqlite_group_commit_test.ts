// What a write's `committed` call may rely on: the rows are in the file (another
// connection reads them) while the log's sync is still under way, and the write itself
// settles only once that sync has ended. The sync here is the file's real one, held
// back by a gate the test opens.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects, assertTrue } from "../../test/assert.ts";
import type { QueuedEnvelope } from "./envelope.ts";
import { GroupCommit, type LogSync, type QueueWrite } from "./sqlite_group_commit.ts";
import { openQueueDatabase } from "./sqlite_schema.ts";
import { WalSync } from "./sqlite_wal_sync.ts";

/** The log's real sync, which ends (or fails) only once the test says so. */
class GatedSync implements LogSync {
  calls = 0;
  /** Resolves when the first sync is asked for. */
  readonly started: Promise<void>;
  #start!: () => void;
  #real: WalSync;
  #open!: (outcome: "sync" | Error) => void;
  #gate: Promise<"sync" | Error>;

  constructor(real: WalSync) {
    this.#real = real;
    this.#gate = new Promise((resolve) => this.#open = resolve);
    this.started = new Promise((resolve) => this.#start = resolve);
  }

  async sync(): Promise<void> {
    this.calls++;
    this.#start();
    const outcome = await this.#gate;
    if (outcome instanceof Error) throw outcome;
    await this.#real.sync();
  }

  open(outcome: "sync" | Error = "sync"): void {
    this.#open(outcome);
  }
}

function messageWrite(msgid: string): QueueWrite {
  const envelope: QueuedEnvelope = {
    evpid: `${msgid}00000001`,
    msgid,
    sender: "a@client.test",
    rcpt: `${msgid}@example.test`,
    action: "local",
    createdAt: 0,
    attempts: 0,
    expiresAt: 1e13,
    warned: 0,
  };
  const content = new TextEncoder().encode(`Subject: ${msgid}\r\n\r\nbody\r\n`);
  return {
    kind: "message",
    message: {
      sender: envelope.sender,
      helo: "client.test",
      src: "127.0.0.1",
      content,
      envelopes: [{ rcpt: envelope.rcpt, action: envelope.action }],
    },
    msgid,
    envelopes: [envelope],
    stored: content,
    flags: 0,
    consumes: [],
  };
}

async function withWriter(
  test: (writer: GroupCommit, gate: GatedSync, rows: () => string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/queue.sqlite`;
  const db = openQueueDatabase(path);
  const real = WalSync.open(path);
  assertTrue(real, "the queue file has a write-ahead log");
  const gate = new GatedSync(real);
  const writer = new GroupCommit(db, { now: Date.now, newLease: () => undefined, walSync: gate });
  const reader = new DatabaseSync(path, { readOnly: true });
  const rows = () =>
    reader.prepare("SELECT msgid FROM messages ORDER BY msgid").all().map((r) => String(r.msgid));
  try {
    await test(writer, gate, rows);
  } finally {
    gate.open();
    writer.close();
    real.close();
    reader.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether the write has settled once its sync is under way (held: it must not have). */
async function settledWhileSyncing(write: Promise<unknown>, gate: GatedSync): Promise<boolean> {
  let settled = false;
  write.then(() => settled = true, () => settled = true);
  await gate.started;
  await Promise.resolve();
  return settled;
}

Deno.test("a new message's committed call comes while the log's sync is held, its write settles after", async () => {
  await withWriter(async (writer, gate, rows) => {
    const seen: string[][] = [];
    const write = writer.write(messageWrite("0000000a"), () => seen.push(rows()));
    assertEquals(await settledWhileSyncing(write, gate), false);
    assertEquals(gate.calls, 1);
    assertEquals(seen, [["0000000a"]], "the row was readable when the call came");
    gate.open();
    await write;
  });
});

Deno.test("a write that fails in its savepoint gets no committed call; the others of its batch do", async () => {
  await withWriter(async (writer, gate) => {
    await (gate.open(), writer.write(messageWrite("0000000b")));
    const calls: string[] = [];
    const again = writer.write(messageWrite("0000000b"), () => calls.push("again"));
    const fresh = writer.write(messageWrite("0000000c"), () => calls.push("fresh"));
    await assertRejects(() => again, Error, "UNIQUE");
    await fresh;
    assertEquals(calls, ["fresh"]);
  });
});

Deno.test("a committed call that throws fails its write alone", async () => {
  await withWriter(async (writer, gate, rows) => {
    gate.open();
    const thrown = writer.write(messageWrite("0000000d"), () => {
      throw new Error("listener broke");
    });
    const other = writer.write(messageWrite("0000000e"), () => {});
    await assertRejects(() => thrown, Error, "listener broke");
    await other;
    assertEquals(rows(), ["0000000d", "0000000e"], "both were committed all the same");
  });
});

Deno.test("a sync that fails fails the write after its committed call: delivered at least once, never lost", async () => {
  await withWriter(async (writer, gate, rows) => {
    let called = 0;
    const write = writer.write(messageWrite("0000000f"), () => called++);
    assertEquals(await settledWhileSyncing(write, gate), false);
    assertEquals(called, 1);
    gate.open(new Error("I/O error"));
    await assertRejects(() => write, Error, "I/O error");
    assertEquals(called, 1);
    assertEquals(rows(), ["0000000f"]);
  });
});
