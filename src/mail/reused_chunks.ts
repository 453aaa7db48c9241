// Reading a byte stream into one buffer that every read uses again, where the stream allows
// it (the runtime's pipes, files and sockets are byte streams): a default reader allocates
// a new 64 KiB buffer for each read, freed only by the garbage collector, and a process
// relaying many small messages holds tens of MiB of them waiting for it.

/** How much one read asks for. */
const CHUNK_BYTES = 65536;

/**
 * The chunks of a stream. Each chunk is a view that the next read reuses: decode or copy
 * it before asking for the next. A stream that is not a byte stream gives its own chunks.
 *
 * @example
 * ```ts
 * import { reusedChunks } from "./reused_chunks.ts";
 * let text = "";
 * for await (const chunk of reusedChunks(ReadableStream.from([new Uint8Array([104, 105])]))) {
 *   text += new TextDecoder().decode(chunk);
 * }
 * ```
 */
export async function* reusedChunks(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const reader = byobReader(stream);
  if (!reader) {
    yield* stream;
    return;
  }
  let buffer = new ArrayBuffer(CHUNK_BYTES);
  try {
    while (true) {
      // The buffer is handed to the stream and comes back in the answer.
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done || !value) return;
      buffer = value.buffer as ArrayBuffer;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** A reader that fills the caller's buffers, or undefined when the stream has none. */
export function byobReader(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamBYOBReader | undefined {
  try {
    return stream.getReader({ mode: "byob" });
  } catch (error) {
    // Only a stream that is not a byte stream is read the ordinary way.
    if (error instanceof TypeError && !stream.locked) return undefined;
    throw error;
  }
}
