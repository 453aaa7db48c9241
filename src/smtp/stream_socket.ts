// A socket-shaped duplex over a web stream and a write function, so a Session can run on
// standard input and output. It has what a Session uses of a socket: data events,
// pause/resume, write/end and an inactivity timeout.

import { Duplex } from "node:stream";

/** A Duplex fed by a ReadableStream, with node's socket timeout. */
export class StreamSocket extends Duplex {
  readonly remoteAddress = undefined;
  #write: (data: Uint8Array) => void;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
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
    this.#disarm();
    this.#reader.cancel().catch(() => {});
    done(error);
  }

  /** As net.Socket#setTimeout: "timeout" fires after `ms` without input; 0 turns it off. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.on("timeout", onTimeout);
    this.#timeoutMs = ms;
    this.#arm();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  async #pump(): Promise<void> {
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#arm();
        this.push(value);
      }
    } catch {
      // Input closed under us: treated as its end.
    }
    this.#disarm();
    this.push(null);
  }

  #arm(): void {
    this.#disarm();
    if (this.#timeoutMs > 0) {
      this.#timer = setTimeout(() => this.emit("timeout"), this.#timeoutMs);
    }
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
