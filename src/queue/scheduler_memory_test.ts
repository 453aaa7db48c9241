// The message content the scheduler holds while accepting outruns delivering: kept on
// waiting envelopes within one bound, held by running attempts of large messages within
// another (small ones never wait behind them), each message counted once, and every
// message still delivered whole.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import type { QueuedEnvelope } from "./envelope.ts";
import { type DeliveryOutcome, type Scheduler, startScheduler } from "./scheduler.ts";
import { openQueue, type Queue } from "./sqlite_store.ts";

const MB = 1_000_000;

// Message `n` of `size` bytes: a header, then lines that name it, so a mix-up shows.
function largeMessage(n: number, size: number): Uint8Array {
  const line = `message ${n} `.padEnd(76, "x") + "\r\n";
  const head = `Subject: ${n}\r\n\r\n`;
  return new TextEncoder().encode(head + line.repeat(Math.ceil((size - head.length) / 78)));
}

function commitMessage(queue: Queue, content: Uint8Array, rcpts: readonly string[]) {
  return queue.commit({
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content,
    envelopes: rcpts.map((rcpt) => ({ rcpt, action: "local" })),
  });
}

// Deliveries that wait to be let through, each into a file of its own under `dir`.
class GatedMailbox {
  readonly dir: string;
  readonly waiting: { content: Uint8Array; go: () => void }[] = [];
  /** The most bytes of distinct content the deliveries held at once. */
  mostHeld = 0;
  #held = new Map<Uint8Array, number>();
  #arrived: (() => void) | undefined;
  #open = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  deliver = async (envelope: QueuedEnvelope, content: Uint8Array): Promise<DeliveryOutcome> => {
    this.#held.set(content, (this.#held.get(content) ?? 0) + 1);
    let bytes = 0;
    for (const held of this.#held.keys()) bytes += held.byteLength;
    this.mostHeld = Math.max(this.mostHeld, bytes);
    if (!this.#open) {
      await new Promise<void>((go) => {
        this.waiting.push({ content, go });
        this.#arrived?.();
      });
    }
    await Deno.writeFile(`${this.dir}/${envelope.evpid}.${envelope.rcpt}`, content);
    const left = this.#held.get(content)! - 1;
    if (left === 0) this.#held.delete(content);
    else this.#held.set(content, left);
    return { kind: "ok" };
  };

  /** Resolves once `count` deliveries wait (or already do). */
  async arrived(count: number): Promise<void> {
    while (this.waiting.length < count) {
      await new Promise<void>((resolve) => this.#arrived = resolve);
    }
  }

  /** Lets every waiting delivery through. */
  release(): void {
    for (const { go } of this.waiting.splice(0)) go();
  }

  /** Lets every delivery through, those waiting and those to come. */
  open(): void {
    this.#open = true;
    this.release();
  }
}

// Lets the deliveries through and waits for the queue to be empty.
async function drained(queue: Queue, mailbox: GatedMailbox, scheduler: Scheduler) {
  mailbox.open();
  for (let i = 0; i < 2000 && queue.stats().messages > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assertEquals(queue.stats().messages, 0, "the queue did not drain");
  assertEquals(scheduler.heldContent, { ready: 0, running: 0 });
}

Deno.test("startScheduler() holds the content of large waiting messages within its bounds, and delivers them all whole", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(`${dir}/queue`);
  const mailbox = new GatedMailbox(await Deno.makeTempDir({ dir }));
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: mailbox.deliver,
    readyContentBytes: 3.5 * MB,
    runningContentBytes: 4 * MB,
  });
  try {
    // Twelve messages of 1.5 MB for two recipients each, committed while none is delivered.
    const messages = Array.from({ length: 12 }, (_, n) => largeMessage(n, 1.5 * MB));
    for (const [n, content] of messages.entries()) {
      await commitMessage(queue, content, [`a${n}@example.test`, `b${n}@example.test`]);
    }
    // Two messages run (both of each one's recipients, sharing its bytes); a third would
    // go past 4 MB. Two more keep their content as they wait; the rest wait without it.
    await mailbox.arrived(4);
    assertEquals(scheduler.inFlight, 4);
    assertEquals(scheduler.heldContent.running, messages[0]!.length + messages[1]!.length);
    assertEquals(scheduler.heldContent.ready, messages[2]!.length + messages[3]!.length);

    await drained(queue, mailbox, scheduler);
    assertTrue(mailbox.mostHeld <= 4 * MB, `deliveries held ${mailbox.mostHeld} bytes at once`);
    const files = [...Deno.readDirSync(mailbox.dir)].map((entry) => entry.name).sort();
    assertEquals(files.length, 24);
    for (const name of files) {
      const n = Number(/^\w+\.[ab](\d+)@/.exec(name)![1]);
      assertEquals(await Deno.readFile(`${mailbox.dir}/${name}`), messages[n]!, name);
    }
  } finally {
    mailbox.open();
    await scheduler.stop();
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startScheduler() runs one attempt of a message larger than its bound for running attempts, and small ones beside it", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(`${dir}/queue`);
  const mailbox = new GatedMailbox(await Deno.makeTempDir({ dir }));
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: mailbox.deliver,
    readyContentBytes: MB,
    runningContentBytes: MB,
  });
  try {
    const large = [largeMessage(0, 2 * MB), largeMessage(1, 2 * MB)];
    const small = largeMessage(2, 1000);
    await commitMessage(queue, large[0]!, ["a0@example.test"]);
    await commitMessage(queue, large[1]!, ["a1@example.test"]);
    await commitMessage(queue, small, ["a2@example.test"]);
    // The first large one runs alone past the bound; the second waits for it (without its
    // content, past the waiting bound); the small one does not wait behind it.
    await mailbox.arrived(2);
    assertEquals(scheduler.inFlight, 2);
    assertEquals(scheduler.heldContent, { ready: 0, running: large[0]!.length + small.length });
    mailbox.release();
    await mailbox.arrived(1);
    assertEquals(mailbox.waiting.map((w) => w.content), [large[1]!]);
    assertEquals(scheduler.heldContent, { ready: 0, running: large[1]!.length });
    await drained(queue, mailbox, scheduler);
    const files = [...Deno.readDirSync(mailbox.dir)].map((entry) => entry.name).sort();
    assertEquals(files.length, 3);
  } finally {
    mailbox.open();
    await scheduler.stop();
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startScheduler() delivers small messages while large ones wait for room, and the large ones still in their turn", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(`${dir}/queue`);
  const mailbox = new GatedMailbox(await Deno.makeTempDir({ dir }));
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: mailbox.deliver,
    runningContentBytes: 3 * MB,
  });
  try {
    // Three 2 MB messages for one user: one runs, the other two wait for room.
    const large = [0, 1, 2].map((n) => largeMessage(n, 2 * MB));
    for (const [n, content] of large.entries()) {
      await commitMessage(queue, content, [`big${n}@example.test`]);
    }
    // Twenty small ones for another, committed behind them: none waits.
    for (let n = 0; n < 20; n++) {
      await commitMessage(queue, largeMessage(10 + n, 1000), [`small${n}@example.test`]);
    }
    await mailbox.arrived(21);
    assertEquals(scheduler.inFlight, 21);
    assertEquals(mailbox.waiting.filter((w) => w.content.length > MB).map((w) => w.content), [
      large[0]!,
    ]);
    // Small ones keep coming while the first large one runs; the next large one still goes
    // as soon as the first leaves room.
    for (let n = 20; n < 25; n++) {
      await commitMessage(queue, largeMessage(10 + n, 1000), [`small${n}@example.test`]);
    }
    await mailbox.arrived(26);
    mailbox.release();
    await mailbox.arrived(1);
    assertEquals(mailbox.waiting.map((w) => w.content), [large[1]!]);
    mailbox.release();
    await mailbox.arrived(1);
    assertEquals(mailbox.waiting.map((w) => w.content), [large[2]!]);
    await drained(queue, mailbox, scheduler);
    assertEquals([...Deno.readDirSync(mailbox.dir)].length, 28);
  } finally {
    mailbox.open();
    await scheduler.stop();
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startScheduler() reads a message back from the queue once for its recipients that run together", async () => {
  const dir = await Deno.makeTempDir();
  const first = await openQueue(`${dir}/queue`);
  const content = largeMessage(0, 2 * MB);
  await commitMessage(first, content, ["a0@example.test", "b0@example.test", "c0@example.test"]);
  first.close();
  // After a restart nothing is in memory: the attempts read the message from the queue.
  const queue = await openQueue(`${dir}/queue`);
  const mailbox = new GatedMailbox(await Deno.makeTempDir({ dir }));
  const scheduler = startScheduler({
    queue,
    log: SILENT_LOGGER,
    deliver: mailbox.deliver,
    runningContentBytes: MB,
  });
  try {
    await mailbox.arrived(3);
    assertEquals(new Set(mailbox.waiting.map((w) => w.content)).size, 1);
    assertEquals(scheduler.heldContent, { ready: 0, running: content.length });
    await drained(queue, mailbox, scheduler);
    for (const entry of Deno.readDirSync(mailbox.dir)) {
      assertEquals(await Deno.readFile(`${mailbox.dir}/${entry.name}`), content);
    }
  } finally {
    mailbox.open();
    await scheduler.stop();
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});
