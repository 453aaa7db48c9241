// The stream buffer: frames that cross chunk boundaries come out whole, a chunk larger than
// the buffer grows it, and the end of the stream is reported, not waited for.

import { assertEquals } from "../../test/assert.ts";
import { concatBytes, reusedChunks, StreamBuffer } from "./mod.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("StreamBuffer joins chunks, consumes from the front and reports the end", async () => {
  const input = new StreamBuffer(ReadableStream.from([bytes(1, 2), bytes(3), bytes(4, 5, 6)]));
  assertEquals(await input.fill(3), true);
  assertEquals(input.unread().subarray(0, 3), bytes(1, 2, 3));
  input.skip(1);
  assertEquals(input.take(2), bytes(2, 3));
  assertEquals(input.length, 0);
  assertEquals(await input.fill(3), true);
  assertEquals(input.take(3), bytes(4, 5, 6));
  assertEquals(await input.more(), false);
  assertEquals(await input.fill(1), false);
});

Deno.test("StreamBuffer grows for a chunk larger than its buffer and keeps what is unread", async () => {
  const big = new Uint8Array(200_000).map((_, i) => i % 251);
  const input = new StreamBuffer(ReadableStream.from([bytes(9), big, bytes(7)]));
  assertEquals(await input.fill(200_002), true);
  assertEquals(input.take(1), bytes(9));
  assertEquals(input.take(200_000), big);
  assertEquals(input.take(1), bytes(7));
  input.release();
});

Deno.test("StreamBuffer reads a byte stream (a file) in place: frames across reads and one larger than the buffer come out whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stream-buffer-" });
  try {
    const sizes = [5, 70_000, 3, 200_000, 65_536, 1];
    const frames = sizes.map((size, n) => new Uint8Array(size).map((_, i) => (i + n) % 251));
    await Deno.writeFile(`${dir}/frames`, concatBytes(frames));
    using file = await Deno.open(`${dir}/frames`);
    const input = new StreamBuffer(file.readable);
    for (const frame of frames) {
      assertEquals(await input.fill(frame.byteLength), true);
      assertEquals(input.take(frame.byteLength), frame);
    }
    assertEquals(await input.fill(1), false);
    assertEquals(input.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reusedChunks() gives a file's bytes in order, each chunk read before the next", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reused-chunks-" });
  try {
    const content = new Uint8Array(300_001).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(`${dir}/content`, content);
    using file = await Deno.open(`${dir}/content`);
    const copies: Uint8Array[] = [];
    for await (const chunk of reusedChunks(file.readable)) copies.push(chunk.slice());
    assertEquals(copies.length > 1, true, "read in several chunks");
    assertEquals(concatBytes(copies), content);
    // A stream that is not a byte stream gives its own chunks.
    const plain: Uint8Array[] = [];
    for await (const chunk of reusedChunks(ReadableStream.from([bytes(1), bytes(2, 3)]))) {
      plain.push(chunk);
    }
    assertEquals(plain, [bytes(1), bytes(2, 3)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
