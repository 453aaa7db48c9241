// Framing of the SMTP input stream: command lines (with their length limit) and message
// data (dot-unstuffing, the CRLF.CRLF terminator, text line and size limits). The session
// only ever sees complete command lines and finished messages.

import { Buffer } from "node:buffer";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from("\r\n");

/** A command line taken from the input. */
export type CommandLine =
  | { readonly kind: "line"; readonly text: string }
  | { readonly kind: "too-long" };

/** Where message data goes while it is read. */
export interface DataSink {
  /** Bytes of content, already dot-unstuffed, CRLF line ends. */
  write(bytes: Uint8Array): void;
  /** A line of the header section (without CRLF), for counting Received: hops. */
  headerLine(line: Uint8Array): void;
  /** A text line longer than the limit was seen. */
  lineTooLong(): void;
}

/** Limits the reader enforces. */
export interface LineLimits {
  /** Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512). */
  readonly commandLineMax: number;
  /** Longest text line, CRLF included (RFC 5321 §4.5.3.1.6: 1000). */
  readonly textLineMax: number;
}

/** Buffers raw input and hands it out as command lines or message data. */
export class LineReader {
  #buf: Buffer = Buffer.alloc(0);
  #start = 0;
  #limits: LineLimits;
  // Data state: are we at the start of a line, still in the header section, and was a
  // long partial line already passed on (so its remainder is not a new line)?
  #atLineStart = true;
  #inHeaders = true;
  #discardingCommand = false;

  constructor(limits: LineLimits) {
    this.#limits = limits;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.#buf.length - this.#start;
  }

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    if (this.#start >= this.#buf.length) {
      this.#buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#start), chunk]);
    }
    this.#start = 0;
  }

  /**
   * Takes the next command line (CR before LF stripped; a bare LF also ends a command
   * line, as most servers accept). Undefined when no complete line is buffered.
   */
  takeCommand(): CommandLine | undefined {
    const max = this.#limits.commandLineMax;
    while (true) {
      const eol = this.#buf.indexOf(LF, this.#start);
      if (eol === -1) {
        if (this.buffered > max) {
          // Too long already: drop what we have and the rest of the line when it comes.
          this.#start = this.#buf.length;
          if (!this.#discardingCommand) {
            this.#discardingCommand = true;
            return { kind: "too-long" };
          }
        }
        return undefined;
      }
      const begin = this.#start;
      this.#start = eol + 1;
      if (this.#discardingCommand) {
        this.#discardingCommand = false;
        continue;
      }
      const end = eol > begin && this.#buf[eol - 1] === CR ? eol - 1 : eol;
      if (end - begin + 2 > max) return { kind: "too-long" };
      return { kind: "line", text: this.#buf.toString("utf8", begin, end) };
    }
  }

  /** Resets the data state before a new message body. */
  beginData(): void {
    this.#atLineStart = true;
    this.#inHeaders = true;
  }

  /**
   * Passes buffered message data to the sink, dot-unstuffed. Returns true once the
   * terminating CRLF.CRLF was consumed (RFC 5321 §4.1.1.4: only a line holding a single
   * dot ends the data; a bare LF never does). Bytes after it stay buffered as commands.
   */
  takeData(sink: DataSink): boolean {
    const buf = this.#buf;
    const textMax = this.#limits.textLineMax;
    let pos = this.#start;
    let segment = pos;
    while (true) {
      const eol = buf.indexOf(CRLF, pos);
      if (eol === -1) break;
      if (this.#atLineStart) {
        if (eol - pos === 1 && buf[pos] === DOT) {
          if (segment < pos) sink.write(buf.subarray(segment, pos));
          this.#start = eol + 2;
          return true;
        }
        if (buf[pos] === DOT) {
          if (segment < pos) sink.write(buf.subarray(segment, pos));
          segment = pos + 1;
        }
        if (this.#inHeaders) {
          if (eol === pos) this.#inHeaders = false;
          else sink.headerLine(buf.subarray(pos, eol));
        }
      }
      if (eol - pos + 2 > textMax) sink.lineTooLong();
      this.#atLineStart = true;
      pos = eol + 2;
    }
    // Keep a partial line buffered, unless it is already longer than any legal line:
    // then pass it on now so a client cannot make us buffer without bound.
    let keep = pos;
    if (buf.length - pos > textMax + 1) {
      // Leave a trailing CR in the buffer: it may start the CRLF of the next chunk.
      keep = buf[buf.length - 1] === CR ? buf.length - 1 : buf.length;
      if (this.#atLineStart && buf[pos] === DOT) {
        if (segment < pos) sink.write(buf.subarray(segment, pos));
        segment = pos + 1;
      }
      if (this.#atLineStart) sink.lineTooLong();
      this.#atLineStart = false;
    }
    if (segment < keep) sink.write(buf.subarray(segment, keep));
    this.#start = keep;
    return false;
  }

  /** Takes up to `count` raw bytes (a BDAT chunk, RFC 3030); returns how many it took. */
  takeBytes(count: number, write: (bytes: Uint8Array) => void): number {
    const available = Math.min(count, this.#buf.length - this.#start);
    if (available > 0) {
      write(this.#buf.subarray(this.#start, this.#start + available));
      this.#start += available;
    }
    return available;
  }
}
