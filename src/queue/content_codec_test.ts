import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../../test/assert.ts";
import { parseQueueKey } from "../config/mod.ts";
import { openQueue } from "./sqlite_store.ts";

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const SECRET = "Subject: merger plans\r\n\r\nThe password to the vault is swordfish-4711.\r\n";

function message(text: string) {
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode(text),
    envelopes: [{ rcpt: "u@example.test", action: "local" }],
  };
}

/** Every byte the queue left on disk: the database, its WAL and shared memory. */
async function rawQueueBytes(dir: string): Promise<string> {
  let all = "";
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) {
      all += new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/${entry.name}`));
    }
  }
  return all;
}

Deno.test("queue encryption: the file holds no plaintext of the message, and it reads back", async () => {
  const dir = await Deno.makeTempDir();
  const key = parseQueueKey(KEY);
  const queue = await openQueue(dir, { key });
  const msgid = await queue.commit(message(SECRET));
  queue.close();
  const raw = await rawQueueBytes(dir);
  assertTrue(raw.includes("u@example.test"), "the envelope itself is readable");
  for (const fragment of ["swordfish", "merger plans", "vault"]) {
    assertTrue(!raw.includes(fragment), `"${fragment}" found in the queue file`);
  }
  const again = await openQueue(dir, { key });
  assertEquals(new TextDecoder().decode(await again.content(msgid)), SECRET);
  again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("queue encryption: a wrong key or no key is refused at start, nothing garbled", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir, { key: parseQueueKey(KEY) });
  await queue.commit(message(SECRET));
  queue.close();
  const wrong = parseQueueKey("ff".repeat(32));
  await assertRejects(
    () => openQueue(dir, { key: wrong }),
    Error,
    "The queue encryption key is not the one",
  );
  await assertRejects(() => openQueue(dir), Error, "holds 1 encrypted message(s)");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("queue compression: bodies are stored deflated and read back whole", async () => {
  const dir = await Deno.makeTempDir();
  const body = "Subject: report\r\n\r\n" +
    "all work and no play makes a dull queue\r\n".repeat(2000);
  const queue = await openQueue(dir, { compression: true });
  const msgid = await queue.commit(message(body));
  queue.close();
  const db = new DatabaseSync(`${dir}/queue.sqlite`, { readOnly: true });
  const row = db.prepare("SELECT size, length(content) AS stored, flags FROM messages").get() as {
    size: number;
    stored: number;
    flags: number;
  };
  db.close();
  assertEquals(row.size, body.length);
  assertTrue(row.stored < body.length / 20, `stored ${row.stored} bytes of ${body.length}`);
  // Opened without compression, the queue still reads what was written compressed.
  const plain = await openQueue(dir);
  assertEquals(new TextDecoder().decode(await plain.content(msgid)), body);
  plain.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compression and encryption together round-trip", async () => {
  const dir = await Deno.makeTempDir();
  const key = parseQueueKey(btoa(String.fromCharCode(...new Uint8Array(32).fill(7))));
  const queue = await openQueue(dir, { key, compression: true });
  const msgid = await queue.commit(message(SECRET));
  assertEquals(new TextDecoder().decode(await queue.content(msgid)), SECRET);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseQueueKey() takes 64 hex digits, base64 or 32 characters, and refuses the rest", () => {
  assertEquals(parseQueueKey(KEY).byteLength, 32);
  assertEquals(parseQueueKey("a".repeat(32)).byteLength, 32);
  assertThrows(() => parseQueueKey("short"), Error, "must be 32 bytes");
  assertThrows(() => parseQueueKey("0011"), Error, "got 4 characters");
});

Deno.test("queue encryption: content that is a window of a larger buffer is sealed as that window", async () => {
  const dir = await Deno.makeTempDir();
  const key = parseQueueKey(KEY);
  const queue = await openQueue(dir, { key, compression: true });
  const around = new TextEncoder().encode(`BEFORE${SECRET}AFTER`);
  const window = around.subarray(6, 6 + SECRET.length);
  const encrypted = await openQueue(`${dir}/encrypted-only`, { key });
  const ids = [
    await queue.commit({ ...message(""), content: window }),
    await encrypted.commit({ ...message(""), content: window }),
  ];
  queue.close();
  encrypted.close();
  const [first, second] = [
    await openQueue(dir, { key }),
    await openQueue(`${dir}/encrypted-only`, { key }),
  ];
  assertEquals(new TextDecoder().decode(await first.content(ids[0]!)), SECRET);
  assertEquals(new TextDecoder().decode(await second.content(ids[1]!)), SECRET);
  first.close();
  second.close();
  await Deno.remove(dir, { recursive: true });
});
