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

/**
 * The log's real sync, which ends only once the test says so: the first sync to pass the
 * gate fails if it is opened with an error, those after it sync.
 */
class GatedSync implements LogSync {
  calls = 0;
  #failed = false;
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
    if (outcome instanceof Error && !this.#failed) {
      this.#failed = true;
      throw outcome;
    }
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

function deliveredWrite(msgid: string): QueueWrite {
  const [envelope] = (messageWrite(msgid) as Extract<QueueWrite, { kind: "message" }>).envelopes;
  return { kind: "delivered", envelope: envelope!, keepForReport: false };
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

Deno.test("after a failed sync no new message is committed, and one committed during it is refused too", async () => {
  await withWriter(async (writer, gate, rows) => {
    const failing = writer.write(messageWrite("00000010"));
    await gate.started;
    // Committed while the failing sync is under way: its own sync comes after it.
    const during = writer.write(messageWrite("00000011"));
    await Promise.resolve();
    assertEquals(rows(), ["00000010", "00000011"]);
    gate.open(new Error("I/O error"));
    await assertRejects(() => failing, Error, "I/O error");
    await assertRejects(() => during, Error, "could not be synced to disk (I/O error)");
    assertEquals(gate.calls, 2);

    const later = writer.write(messageWrite("00000012"), () => {
      throw new Error("no committed call for a refused message");
    });
    await assertRejects(() => later, Error, "no new mail is taken until the daemon is restarted");
    assertEquals(gate.calls, 2, "nothing to sync");
    // Delivery results are still recorded: losing one repeats a delivery, no mail.
    await writer.write(deliveredWrite("00000010"));
    assertEquals(rows(), ["00000011"]);
  });
});

Deno.test("a message written by a committed call is flushed and settles", async () => {
  await withWriter(async (writer, gate, rows) => {
    gate.open();
    let inner: Promise<void> | undefined;
    await writer.write(messageWrite("00000013"), () => {
      inner = writer.write(messageWrite("00000014"));
    });
    await inner;
    assertEquals(rows(), ["00000013", "00000014"]);
  });
});

Deno.test("close() refuses what the committed calls of its last flush write, leaving nothing unsettled", async () => {
  await withWriter(async (writer, gate, rows) => {
    gate.open();
    const inner: Promise<string>[] = [];
    const outcome = (write: Promise<void>) =>
      write.then(() => "settled", (error) => `refused: ${error.message}`);
    const last = writer.write(messageWrite("00000015"), () => {
      inner.push(outcome(writer.write(messageWrite("00000016"))));
      inner.push(outcome(writer.write(deliveredWrite("00000015"))));
    });
    writer.close();
    await last.catch(() => {});
    assertEquals(await Promise.all(inner), [
      "refused: The queue is closed",
      "refused: The queue is closed",
    ]);
    assertEquals(rows(), ["00000015"]);
  });
});
