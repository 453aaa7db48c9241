// Reading a byte stream for framed messages: the unread bytes stay in one buffer that grows
// as chunks arrive, so a frame is cut from it without copying what follows.

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
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #bytes = new Uint8Array(65536);
  #start = 0;
  #end = 0;

  /** Takes the stream's reader (given back by {@link StreamBuffer.release}). */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
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
    const { value, done } = await this.#reader.read();
    if (done) return false;
    if (this.#end + value.byteLength > this.#bytes.byteLength) {
      const size = Math.max(this.#bytes.byteLength, (this.length + value.byteLength) * 2);
      const grown = size > this.#bytes.byteLength ? new Uint8Array(size) : this.#bytes;
      grown.set(this.#bytes.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#bytes = grown;
    }
    this.#bytes.set(value, this.#end);
    this.#end += value.byteLength;
    return true;
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
    this.#reader.releaseLock();
  }
}
