// A socket-shaped duplex over a web stream and a write function, so a Session can run on
// standard input and output. It has what a Session uses of a socket: data events,
// pause/resume and write/end (the session keeps its own deadline).

import { Duplex } from "node:stream";

/** A Duplex fed by a ReadableStream. */
export class StreamSocket extends Duplex {
  readonly remoteAddress = undefined;
  #write: (data: Uint8Array) => void;
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(input: ReadableStream<Uint8Array>, write: (data: Uint8Array) => void) {
    super();
    this.#write = write;
    this.#reader = input.getReader();
    void this.#pump();
  }

  override _read(): void {}

  override _write(chunk: Uint8Array, _encoding: string, done: (error?: Error | null) => void) {
    try {
      this.#write(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#reader.cancel().catch(() => {});
    done(error);
  }

  setNoDelay(): this {
    return this;
  }

  async #pump(): Promise<void> {
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.push(value);
      }
    } catch {
      // Input closed under us: treated as its end.
    }
    this.push(null);
  }
}
