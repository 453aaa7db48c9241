// The session's side of its socket: input goes into the LineReader (the socket pauses past
// a high-water mark), replies wait in a batch until the session waits for input
// (PIPELINING, RFC 2920 §3.1), and the session is woken when input arrives or the client goes.

import type { Socket } from "node:net";
import type { Logger } from "../log/mod.ts";
import type { SmtpLimits } from "./limits.ts";
import { LineReader } from "./line_reader.ts";

// Input buffered beyond this pauses the socket until the session catches up.
const HIGH_WATER = 1 << 20;

/** Options of a {@link SessionConnection}. */
export interface ConnectionOptions {
  readonly limits: SmtpLimits;
  readonly log: Logger;
  /** Prefix of the connection's log lines, `smtp-in: session <id>`. */
  readonly label: string;
  /** Called when the idle or data timeout of the current socket expires. */
  onTimeout(): void;
}

/** One client connection: the socket (plain, then TLS after STARTTLS) and its input. */
export class SessionConnection {
  #socket: Socket;
  #reader: LineReader;
  #options: ConnectionOptions;
  #out: string[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#reader = new LineReader(options.limits);
    this.#attach(socket);
  }

  /** The socket the session speaks on now. */
  get socket(): Socket {
    return this.#socket;
  }

  /** The framed input. */
  get reader(): LineReader {
    return this.#reader;
  }

  /** True once the client closed its side or the socket failed. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Speaks on `secure` from now on, with a fresh reader: whatever the client sent on the
   * old socket and the session has not read is dropped (RFC 3207 §4.2, CVE-2011-0411).
   */
  replaceSocket(secure: Socket): void {
    this.#reader = new LineReader(this.#options.limits);
    this.#attach(secure);
  }

  /** Queues reply text; it goes out with the next {@link flush}. */
  queue(text: string): void {
    this.#out.push(text);
  }

  /** Sends the queued replies in one write. */
  flush(): void {
    if (this.#out.length === 0 || this.#socket.destroyed) {
      this.#out.length = 0;
      return;
    }
    const text = this.#out.length === 1 ? this.#out[0]! : this.#out.join("");
    this.#out.length = 0;
    this.#socket.write(text);
  }

  /** Sets the inactivity timeout of the socket (RFC 5321 §4.5.3.2). */
  setTimeout(ms: number): void {
    this.#socket.setTimeout(ms);
  }

  /** Sends what is queued and ends the connection. */
  end(): void {
    this.flush();
    if (!this.#socket.destroyed) this.#socket.end();
    this.#wakeUp();
  }

  /** Sends what is queued and waits for input; false once the client is gone. */
  moreInput(): Promise<boolean> {
    this.flush();
    if (this.#ended) return Promise.resolve(false);
    if (this.#socket.isPaused()) this.#socket.resume();
    return new Promise((resolve) => {
      this.#wake = () => resolve(!this.#ended || this.#reader.buffered > 0);
    });
  }

  // Listens to a socket: the accepted one, then the TLS one after STARTTLS. Events of a
  // socket that was replaced are ignored.
  #attach(socket: Socket): void {
    this.#socket = socket;
    const { limits, log, label } = this.#options;
    socket.on("data", (chunk: Uint8Array) => {
      if (socket !== this.#socket) return;
      this.#reader.push(chunk);
      if (this.#reader.buffered > HIGH_WATER) socket.pause();
      this.#wakeUp();
    });
    const ended = () => {
      if (socket !== this.#socket) return;
      this.#ended = true;
      this.#wakeUp();
    };
    socket.on("end", ended);
    socket.on("close", ended);
    socket.on("error", (error: Error) => {
      log.debug(`${label}: ${error.message}`);
      ended();
    });
    socket.setTimeout(limits.idleTimeoutMs, () => {
      if (socket !== this.#socket) return;
      this.#options.onTimeout();
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
