// The session's side of its socket: input goes into the LineReader (the socket pauses past
// a high-water mark), replies wait in a batch until the session waits for input
// (PIPELINING, RFC 2920 §3.1), and one deadline bounds every wait: for a line, for input,
// and for a client to read the replies it was sent.

import type { Socket } from "node:net";
import { type Logger, trace } from "../log/mod.ts";
import type { SmtpLimits } from "./limits.ts";
import { Deadline } from "./deadline.ts";
import { LineReader } from "./line_reader.ts";

// Input buffered beyond this pauses the socket until the session catches up.
const INPUT_HIGH_WATER = 1 << 20;
// Replies unsent beyond this stop the session reading: a client that pipelines and never
// reads cannot make the daemon buffer its replies without bound (OpenSMTPD reads nothing
// while it has output queued; Postfix stops after a few MB).
const OUTPUT_HIGH_WATER = 1 << 20;
const LF = 0x0a;

/** How the deadline counts progress: per line (commands, DATA) or per byte (BDAT chunks). */
export type TimeoutCounting = "lines" | "bytes";

/** Options of a {@link SessionConnection}. */
export interface ConnectionOptions {
  readonly limits: SmtpLimits;
  readonly log: Logger;
  /** Prefix of the connection's log lines, `smtp-in: session <id>`. */
  readonly label: string;
  /** Called when the deadline passes while the client owes the session input. */
  onTimeout(): void;
}

/** One client connection: the socket (plain, then TLS after STARTTLS) and its input. */
export class SessionConnection {
  #socket: Socket;
  #reader: LineReader;
  #options: ConnectionOptions;
  #out: string[] = [];
  #outBytes = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #closing = false;
  #deadline: Deadline;
  #counting: TimeoutCounting = "lines";
  // A line has begun in the input and not ended yet: more of it does not restart the deadline.
  #inLine = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#reader = new LineReader(options.limits);
    this.#deadline = new Deadline(() => this.#expired());
    this.#deadline.set(options.limits.idleTimeoutMs);
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

  /** True while more reply bytes wait to be sent than the bound allows. */
  get backlogged(): boolean {
    return this.#outBytes + this.#socket.writableLength > OUTPUT_HIGH_WATER;
  }

  /**
   * Speaks on `secure` from now on, with a fresh reader: whatever the client sent on the
   * old socket and the session has not read is dropped (RFC 3207 §4.2, CVE-2011-0411).
   */
  replaceSocket(secure: Socket): void {
    this.#reader = new LineReader(this.#options.limits);
    this.#inLine = false;
    this.#attach(secure);
  }

  /** Queues reply text; it goes out with the next {@link flush}. */
  queue(text: string): void {
    this.#out.push(text);
    this.#outBytes += text.length;
  }

  /** Sends the queued replies in one write; the client's time to answer starts now. */
  flush(): void {
    if (this.#out.length === 0) return;
    const text = this.#out.length === 1 ? this.#out[0]! : this.#out.join("");
    this.#out.length = 0;
    this.#outBytes = 0;
    if (this.#socket.destroyed) return;
    trace("io", () => `${this.#options.label}: wrote ${text.length} bytes`);
    this.#socket.write(text);
    this.#deadline.restart();
  }

  /**
   * Sets the time the client has (RFC 5321 §4.5.3.2): counted per line from the line's first
   * byte, so a client trickling bytes of a line that never ends is still cut off, or per
   * byte while a BDAT chunk of binary data is read.
   */
  setTimeout(ms: number, counting: TimeoutCounting = "lines"): void {
    this.#counting = counting;
    this.#inLine = false;
    this.#deadline.set(ms);
  }

  /**
   * Sends what is queued and ends the connection (destroyed if the client never reads it).
   * After a QUIT (`final`) the client has nothing more to say (RFC 5321 §4.1.1.10): the
   * socket is closed as soon as the 221 is handed to the system, as OpenSMTPD does, rather
   * than read on until the client closes; otherwise input is read and dropped until then.
   */
  end(final = false): void {
    this.#closing = true;
    this.flush();
    const socket = this.#socket;
    if (socket.isPaused()) socket.resume();
    if (!socket.destroyed) {
      if (final) socket.once("finish", () => socket.destroy());
      socket.end();
    }
    this.#wakeUp();
  }

  /** Wakes a session waiting for input, so it looks at its state again (shutdown). */
  interrupt(): void {
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

  /**
   * Sends what is queued and, while the client leaves too much of it unread, reads nothing
   * more; resolves false if the client went away (or the deadline closed it) meanwhile.
   */
  async drained(): Promise<boolean> {
    this.flush();
    const socket = this.#socket;
    socket.pause();
    while (!this.#ended && !socket.destroyed && socket.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          this.#wake = undefined;
          resolve();
        };
        socket.on("drain", done);
        this.#wake = done;
      });
    }
    return !this.#ended && !socket.destroyed && socket === this.#socket;
  }

  // The deadline passed. A client that does not read its replies is dropped (a reply would
  // only queue behind them), as is one that got its 421 or 221 and stays; others get 421.
  #expired(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    const unsent = socket.writableLength;
    if (unsent > 0) {
      const seconds = Math.round(this.#deadline.ms / 1000);
      this.#options.log.info(
        `${this.#options.label} closed: the client left ${unsent} bytes of replies unread for ${seconds} s`,
      );
      socket.destroy();
      return;
    }
    if (this.#closing) return void socket.destroy();
    this.#options.onTimeout();
  }

  // Restarts the deadline for input that begins a line or ends one; more bytes of a line
  // already begun do not (the line's time counts from its first byte).
  #noteInput(chunk: Uint8Array): void {
    if (this.#counting === "bytes") return this.#deadline.restart();
    const lf = chunk.lastIndexOf(LF);
    if (lf !== -1 || !this.#inLine) this.#deadline.restart();
    this.#inLine = lf < chunk.length - 1;
  }

  // Listens to a socket: the accepted one, then the TLS one after STARTTLS. Events of a
  // socket that was replaced are ignored.
  #attach(socket: Socket): void {
    this.#socket = socket;
    const { log, label } = this.#options;
    socket.on("data", (chunk: Uint8Array) => {
      if (socket !== this.#socket) return;
      // After the last reply, input is read and dropped, so a client still sending is not
      // stalled before it can see the end; the deadline bounds how long it may go on.
      if (this.#closing) return;
      trace("io", () => `${label}: read ${chunk.byteLength} bytes`);
      this.#noteInput(chunk);
      this.#reader.push(chunk);
      if (this.#reader.buffered > INPUT_HIGH_WATER) socket.pause();
      this.#wakeUp();
    });
    const ended = () => {
      if (socket !== this.#socket) return;
      this.#ended = true;
      this.#wakeUp();
    };
    socket.on("end", ended);
    socket.on("close", () => {
      if (socket !== this.#socket) return;
      this.#deadline.stop();
      ended();
    });
    socket.on("error", (error: Error) => {
      log.debug(`${label}: ${error.message}`);
      ended();
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
