// The byte stream under a client dialogue: a node:net or node:tls socket read line by line
// and written in bounded blocks, every step under a deadline. A deadline that passes
// destroys the socket, so nothing waits for a silent server forever.

import type { Socket } from "node:net";
import { concatBytes } from "../mail/mod.ts";

/** An I/O failure (refused, closed, timed out, garbled): the connection is unusable. */
export class ChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChannelError";
  }
}

const LF = 0x0a;
const CR = 0x0d;
// Writes of the message go out in blocks this large, each with its own deadline.
const BLOCK = 65_536;
/**
 * What a server may have sent ahead of being read, octets. Replies are read as they are
 * awaited (one reply is at most 64 KiB, reply.ts), and the replies to a pipelined
 * transaction of a thousand recipients take about 50 KiB; more than this, while the
 * client is busy writing a message, is a server flooding it.
 */
export const UNREAD_LIMIT = 1 << 20;

/** When a read must be done (Unix ms), and the timeout that set it, for the error text. */
export interface ReadDeadline {
  readonly at: number;
  readonly timeoutMs: number;
}

/** Line reading and writing over one socket; {@link upgrade} swaps the socket for TLS. */
export class Channel {
  #socket: Socket;
  #pending: Uint8Array = new Uint8Array(0);
  #wake: (() => void) | undefined;
  #failure: ChannelError | undefined;
  #ended = false;
  #closed = false;
  readonly #onData = (chunk: Uint8Array) => {
    if (this.#pending.length + chunk.length > UNREAD_LIMIT) {
      this.#failure ??= new ChannelError(
        `the server sent more than ${UNREAD_LIMIT} octets that were not read yet`,
      );
      this.#pending = new Uint8Array(0);
      this.close();
      return;
    }
    this.#pending = this.#pending.length === 0 ? chunk : concatBytes([this.#pending, chunk]);
    this.#notify();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#notify();
  };
  readonly #onError = (error: Error) => {
    this.#failure ??= new ChannelError(error.message);
    this.#notify();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach();
  }

  /** The socket now carrying the dialogue. */
  get socket(): Socket {
    return this.#socket;
  }

  /** Bytes received and not yet read as a line. */
  get buffered(): number {
    return this.#pending.length;
  }

  /**
   * One line, without its line end: CRLF ends a line, and so does a bare LF (read the same
   * way by every caller). Longer than `limit` octets with its CRLF is an error, and so is
   * a line not complete by `deadline` (one deadline for a whole reply, set by the caller).
   */
  async readLine(limit: number, deadline: ReadDeadline): Promise<string> {
    for (;;) {
      const end = this.#pending.indexOf(LF);
      if (end >= 0) {
        const stop = end > 0 && this.#pending[end - 1] === CR ? end - 1 : end;
        if (stop + 2 > limit) throw new ChannelError(`reply line longer than ${limit} octets`);
        const line = new TextDecoder().decode(this.#pending.subarray(0, stop));
        this.#pending = this.#pending.subarray(end + 1);
        return line;
      }
      if (this.#pending.length + 1 > limit) {
        throw new ChannelError(`reply line longer than ${limit} octets`);
      }
      if (this.#failure) throw this.#failure;
      if (this.#ended || this.#closed) throw new ChannelError("connection closed by the server");
      await this.#waitUntil(deadline);
    }
  }

  /** Writes all of `data`, in blocks, each within `timeoutMs`. */
  async write(data: Uint8Array, timeoutMs: number): Promise<void> {
    for (let at = 0; at < data.length; at += BLOCK) {
      const block = data.subarray(at, Math.min(data.length, at + BLOCK));
      await this.#writeBlock(block, timeoutMs);
    }
  }

  /** Hands the socket over (for a TLS upgrade) and reads from `next` afterwards. */
  detach(): Socket {
    this.#socket.off("data", this.#onData);
    this.#socket.off("end", this.#onEnd);
    this.#socket.off("error", this.#onError);
    return this.#socket;
  }

  /** Continues the dialogue over `next` (the TLS socket wrapping the old one). */
  upgrade(next: Socket): void {
    this.#socket = next;
    this.#attach();
  }

  /** Ends the connection at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }

  #attach(): void {
    this.#socket.on("data", this.#onData);
    this.#socket.on("end", this.#onEnd);
    this.#socket.on("error", this.#onError);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #waitUntil(deadline: ReadDeadline): Promise<void> {
    const left = deadline.at - Date.now();
    if (left <= 0) {
      this.close();
      throw new ChannelError(`no answer within ${seconds(deadline.timeoutMs)}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, left);
    });
    clearTimeout(timer);
  }

  #writeBlock(block: Uint8Array, timeoutMs: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ChannelError("connection closed"));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new ChannelError(`could not write within ${seconds(timeoutMs)}`));
      }, timeoutMs);
      this.#socket.write(block, (error) => {
        clearTimeout(timer);
        if (error) reject(new ChannelError(error.message));
        else resolve();
      });
    });
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
