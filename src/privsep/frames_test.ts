import { assertEquals, assertRejects } from "../../test/assert.ts";
import { readFrames, writeFrame } from "./frames.ts";

async function collect(stream: ReadableStream<Uint8Array>) {
  const frames = [];
  for await (const frame of readFrames(stream)) frames.push(frame);
  return frames;
}

Deno.test("readFrames() gives back every frame written, 8-bit bodies byte for byte, however split", async () => {
  const body = new Uint8Array(70_000).map((_, i) => i % 256);
  const chunks: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c.slice()) });
  const writer = sink.getWriter();
  // Written concurrently: each frame's prefix, header and body stay together.
  await Promise.all([
    writeFrame(writer, { id: 1, kind: "mailbox" }, body),
    writeFrame(writer, { id: 2, kind: "auth", user: "é" }),
    writeFrame(writer, { id: 3, kind: "mda" }, new Uint8Array([0xe9, 0x0d, 0x0a])),
  ]);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.byteLength) - c.byteLength);
  // Fed back three bytes at a time, as a pipe may cut them.
  const pieces = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < all.byteLength; i += 3) controller.enqueue(all.slice(i, i + 3));
      controller.close();
    },
  });
  const frames = await collect(pieces);
  assertEquals(frames.map((f) => f.header), [
    { id: 1, kind: "mailbox" },
    { id: 2, kind: "auth", user: "é" },
    { id: 3, kind: "mda" },
  ]);
  assertEquals(frames[0]!.body, body);
  assertEquals(frames[1]!.body.byteLength, 0);
  assertEquals([...frames[2]!.body], [0xe9, 0x0d, 0x0a]);
});

Deno.test("readFrames() refuses a frame over the limits and a frame cut short", async () => {
  const huge = new Uint8Array(8);
  new DataView(huge.buffer).setUint32(0, 0xffffffff);
  await assertRejects(() => collect(ReadableStream.from([huge])), Error, "Frame too large");
  const cut = new Uint8Array(8 + 2);
  new DataView(cut.buffer).setUint32(0, 5);
  await assertRejects(() => collect(ReadableStream.from([cut])), Error, "Frame cut short");
});

Deno.test("writeFrame() sends the frames of one task in one write, and they read back whole", async () => {
  const chunks: Uint8Array[] = [];
  const writer = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) })
    .getWriter();
  const body = new TextEncoder().encode("Subject: x\r\n\r\nbody\r\n");
  await Promise.all([
    writeFrame(writer, { id: 1, kind: "mailbox" }, body),
    writeFrame(writer, { id: 2, kind: "auth" }),
    writeFrame(writer, { id: 3, kind: "mailbox" }, body),
  ]);
  assertEquals(chunks.length, 1);
  await writeFrame(writer, { id: 4, kind: "forward" });
  assertEquals(chunks.length, 2);
  const frames = await collect(ReadableStream.from(chunks));
  assertEquals(frames.map((f) => (f.header as { id: number }).id), [1, 2, 3, 4]);
  assertEquals(frames[2]!.body, body);
});
