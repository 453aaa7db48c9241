// The stream buffer: frames that cross chunk boundaries come out whole, a chunk larger than
// the buffer grows it, and the end of the stream is reported, not waited for.

import { assertEquals } from "../../test/assert.ts";
import { StreamBuffer } from "./mod.ts";

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
