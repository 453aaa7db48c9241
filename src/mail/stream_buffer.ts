// Reading a byte stream for framed messages: the unread bytes stay in one buffer that grows
// as chunks arrive, so a frame is cut from it without copying what follows. A byte stream
// is read straight into that buffer (no chunk allocated per read).

import { byobReader } from "./reused_chunks.ts";

/** Room left at the end of the buffer below which it is compacted before a read. */
const MIN_READ_BYTES = 16384;

/**
 * The unread bytes of a stream, contiguous. Reads add a chunk at the end (growing or
 * compacting the buffer); `skip` and `take` consume from the front.
 *
 * @example
 * ```ts
 * import { StreamBuffer } from "./stream_buffer.ts";
 * const input = new StreamBuffer(ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]));
 * await input.fill(3); // true
 * input.take(2); // Uint8Array [1, 2]
 * ```
 */
export class StreamBuffer {
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #byob: ReadableStreamBYOBReader | undefined;
  #bytes = new Uint8Array(65536);
  #start = 0;
  #end = 0;

  /** Takes the stream's reader (given back by {@link StreamBuffer.release}). */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#byob = byobReader(stream);
    if (!this.#byob) this.#reader = stream.getReader();
  }

  /** How many bytes are read and not yet consumed. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** The unread bytes, as a view that the next read may move. */
  unread(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /** Reads one more chunk; false when the stream has ended. */
  async more(): Promise<boolean> {
    if (this.#byob) return await this.#readInPlace(this.#byob);
    const { value, done } = await this.#reader!.read();
    if (done) return false;
    this.#makeRoom(value.byteLength);
    this.#bytes.set(value, this.#end);
    this.#end += value.byteLength;
    return true;
  }

  // The read fills the free end of the buffer, which is handed to the stream and comes
  // back (transferred) with the answer.
  async #readInPlace(reader: ReadableStreamBYOBReader): Promise<boolean> {
    if (this.#bytes.byteLength - this.#end < MIN_READ_BYTES) this.#makeRoom(MIN_READ_BYTES);
    const free = this.#bytes.byteLength - this.#end;
    const { value, done } = await reader.read(
      new Uint8Array(this.#bytes.buffer as ArrayBuffer, this.#end, free),
    );
    if (value) this.#bytes = new Uint8Array(value.buffer as ArrayBuffer);
    if (done || !value) return false;
    this.#end += value.byteLength;
    return true;
  }

  // Room for `count` more bytes at the end: the unread bytes move to the front, into a
  // buffer twice their size (with the new bytes) when this one is too small.
  #makeRoom(count: number): void {
    if (this.#end + count <= this.#bytes.byteLength) return;
    const size = Math.max(this.#bytes.byteLength, (this.length + count) * 2);
    const grown = size > this.#bytes.byteLength ? new Uint8Array(size) : this.#bytes;
    grown.set(this.#bytes.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#bytes = grown;
  }

  /** Reads until at least `count` bytes are unread; false when the stream ends first. */
  async fill(count: number): Promise<boolean> {
    while (this.length < count) {
      if (!(await this.more())) return false;
    }
    return true;
  }

  /** Consumes `count` unread bytes. */
  skip(count: number): void {
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Consumes `count` unread bytes and returns a copy of them. */
  take(count: number): Uint8Array {
    const taken = this.#bytes.slice(this.#start, this.#start + count);
    this.skip(count);
    return taken;
  }

  /** Gives the stream's reader back. */
  release(): void {
    (this.#byob ?? this.#reader)!.releaseLock();
  }
}
