// Framing of the SMTP input stream: command lines (with their length limit) and message
// data (dot-unstuffing, the CRLF.CRLF terminator, text line and size limits). The session
// only ever sees complete command lines and finished messages.

import { Buffer } from "node:buffer";
import { indexOfByte } from "../mail/mod.ts";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);

/**
 * The longest line of an AUTH exchange, octets with its CRLF: RFC 4954 §4 asks servers to
 * take the longest encoded response of their mechanisms whatever their command line
 * limit, and names 12288 as enough (PLAIN's longest, three 255-octet fields, is 1024).
 */
export const SASL_LINE_MAX = 12288;
// "auth " in lower case; `| 0x20` folds the line's letters and leaves the space as it is.
const AUTH_PREFIX = [0x61, 0x75, 0x74, 0x68, 0x20];
// "bdat" in lower case, before a blank.
const BDAT_VERB = [0x62, 0x64, 0x61, 0x74];
const SPACE = 0x20;
const TAB = 0x09;

/**
 * A command line taken from the input. A `BDAT` line too long to read is told apart: its
 * chunk size is lost with it, so where the chunk ends (and the next command starts) is
 * unknown.
 */
export type CommandLine =
  | { readonly kind: "line"; readonly text: string }
  | { readonly kind: "too-long" }
  | { readonly kind: "bdat-too-long" };

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
  /** Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512, raised by extensions). */
  readonly commandLineMax: number;
  /** Longest text line, CRLF included (RFC 5321 §4.5.3.1.6: 1000). */
  readonly textLineMax: number;
}

/**
 * Buffers raw input and hands it out as command lines or message data. Received chunks are
 * kept as they came and read in place: only a line that spans two chunks is copied, joined
 * with the next chunk up to that chunk's first LF, so a message body is never copied here.
 */
export class LineReader {
  // The buffer being read (from #start), and the chunks received after it.
  #buf: Buffer = EMPTY;
  #start = 0;
  #queued: Buffer[] = [];
  #queuedBytes = 0;
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
    return this.#buf.length - this.#start + this.#queuedBytes;
  }

  /** Appends received bytes (kept, not copied: the caller must not change them later). */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#start >= this.#buf.length && this.#queued.length === 0) {
      this.#buf = bytes;
      this.#start = 0;
      return;
    }
    this.#queued.push(bytes);
    this.#queuedBytes += bytes.length;
  }

  // Moves on to the next received chunk; what is left unread of the current buffer (part
  // of a line) is joined with the chunk up to its first LF, and the chunk's rest waits.
  // False when nothing more was received.
  #advance(): boolean {
    const next = this.#queued.shift();
    if (next === undefined) return false;
    this.#queuedBytes -= next.length;
    const left = this.#buf.length - this.#start;
    if (left === 0) {
      this.#buf = next;
      this.#start = 0;
      return true;
    }
    const lf = indexOfByte(next, LF, 0);
    const cut = lf === -1 ? next.length : lf + 1;
    const joined = Buffer.allocUnsafe(left + cut);
    joined.set(this.#buf.subarray(this.#start), 0);
    joined.set(next.subarray(0, cut), left);
    if (cut < next.length) {
      this.#queued.unshift(next.subarray(cut));
      this.#queuedBytes += next.length - cut;
    }
    this.#buf = joined;
    this.#start = 0;
    return true;
  }

  /**
   * Takes the next command line (CR before LF stripped; a bare LF also ends a command
   * line, as most servers accept). Undefined when no complete line is buffered. An `AUTH`
   * command and, with `saslResponse`, a line of an AUTH exchange may be as long as
   * {@link SASL_LINE_MAX}.
   */
  takeCommand(saslResponse = false): CommandLine | undefined {
    const max = saslResponse || this.#startsAuth()
      ? Math.max(SASL_LINE_MAX, this.#limits.commandLineMax)
      : this.#limits.commandLineMax;
    while (true) {
      const eol = indexOfByte(this.#buf, LF, this.#start);
      if (eol === -1) {
        if (this.#buf.length - this.#start > max) {
          // Too long already: drop what we have and the rest of the line when it comes.
          const refused = this.#tooLong(saslResponse);
          this.#start = this.#buf.length;
          if (!this.#discardingCommand) {
            this.#discardingCommand = true;
            return refused;
          }
        }
        if (this.#advance()) continue;
        return undefined;
      }
      const begin = this.#start;
      this.#start = eol + 1;
      if (this.#discardingCommand) {
        this.#discardingCommand = false;
        continue;
      }
      const end = eol > begin && this.#buf[eol - 1] === CR ? eol - 1 : eol;
      if (end - begin + 2 > max) return this.#tooLong(saslResponse, begin);
      return { kind: "line", text: this.#buf.toString("utf8", begin, end) };
    }
  }

  // The refusal of a line too long, starting at `at`: a BDAT command's is its own (an
  // AUTH exchange's lines are never commands).
  #tooLong(saslResponse: boolean, at = this.#start): CommandLine {
    if (saslResponse || !this.#startsWith(BDAT_VERB, at)) return { kind: "too-long" };
    const blank = this.#buf[at + BDAT_VERB.length];
    return blank === SPACE || blank === TAB ? { kind: "bdat-too-long" } : { kind: "too-long" };
  }

  // Whether the buffered line begins with `AUTH ` (any case): its initial response may
  // be longer than a command.
  #startsAuth(): boolean {
    return this.#startsWith(AUTH_PREFIX, this.#start);
  }

  // Whether the buffer holds these lower-case letters (in any case) at `at`.
  #startsWith(prefix: readonly number[], at: number): boolean {
    if (this.#buf.length - at < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) {
      if ((this.#buf[at + i]! | 0x20) !== prefix[i]) return false;
    }
    return true;
  }

  /** Resets the data state before a new message body. */
  beginData(): void {
    this.#atLineStart = true;
    this.#inHeaders = true;
  }

  /**
   * Passes buffered message data to the sink, dot-unstuffed, as pieces of the received
   * chunks. Returns true once the terminating CRLF.CRLF was consumed (RFC 5321 §4.1.1.4:
   * only a line holding a single dot ends the data; a bare LF never does). Bytes after it
   * stay buffered as commands.
   */
  takeData(sink: DataSink): boolean {
    while (true) {
      if (this.#takeDataFromBuffer(sink)) return true;
      if (!this.#advance()) return false;
    }
  }

  // takeData() on the current buffer; a partial line at its end stays unread (or, when
  // already longer than any legal line, is passed on).
  #takeDataFromBuffer(sink: DataSink): boolean {
    const buf = this.#buf;
    const textMax = this.#limits.textLineMax;
    let pos = this.#start;
    let segment = pos;
    let from = pos;
    while (true) {
      // A line ends at CRLF: an LF is searched for (one byte, the fastest search), and
      // one without a CR before it in the same line is content.
      const lf = indexOfByte(buf, LF, from);
      if (lf === -1) break;
      from = lf + 1;
      if (lf === pos || buf[lf - 1] !== CR) continue;
      const eol = lf - 1;
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
    let taken = 0;
    while (taken < count) {
      const available = Math.min(count - taken, this.#buf.length - this.#start);
      if (available > 0) {
        write(this.#buf.subarray(this.#start, this.#start + available));
        this.#start += available;
        taken += available;
      } else if (!this.#advance()) break;
    }
    return taken;
  }
}
