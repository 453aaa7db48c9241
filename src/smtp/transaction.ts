// One mail transaction, MAIL FROM to the end of DATA: the sender, accepted recipients
// and the message content as it arrives. RSET and end-of-message drop it.

import { randomHex } from "../mail/mod.ts";
import type { NewEnvelope } from "../queue/mod.ts";
import type { DataSink } from "./line_reader.ts";
import type { MailDsn } from "./dsn.ts";

const RECEIVED_PREFIX = "received:";

/** The transaction in progress, and the sink its message data is read into. */
export class Transaction implements DataSink {
  readonly sender: string;
  /** MAIL FROM parameters (SIZE, BODY…), upper-cased keywords. */
  readonly params: ReadonlyMap<string, string>;
  readonly envelopes: NewEnvelope[] = [];
  /** RET and ENVID of MAIL FROM (RFC 3461). */
  dsn: MailDsn = {};
  /** MAIL FROM carried SMTPUTF8 (RFC 6531). */
  smtputf8 = false;
  /** How the content is coming: unknown until DATA or the first BDAT (RFC 3030 §2). */
  transfer: "none" | "data" | "bdat" = "none";
  /** Recipients as given, in order, one per accepted RCPT. */
  readonly recipients: string[] = [];
  /** The queue id the message will have, known from MAIL FROM on (filters report it). */
  readonly msgid: string;
  /** A filter marked the transaction as spam: the message gets `X-Spam: yes`. */
  junk = false;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #maxSize: number;
  #tooBig = false;
  #longLine = false;
  #hops = 0;

  constructor(
    sender: string,
    params: ReadonlyMap<string, string>,
    maxSize: number,
    msgid: string = randomHex(4),
  ) {
    this.sender = sender;
    this.msgid = msgid;
    this.params = params;
    this.#maxSize = maxSize;
  }

  write(bytes: Uint8Array): void {
    this.#size += bytes.byteLength;
    if (this.#size > this.#maxSize) {
      // Keep reading to the end of the data, but stop holding it.
      this.#tooBig = true;
      this.#chunks = [];
      return;
    }
    this.#chunks.push(bytes);
  }

  headerLine(line: Uint8Array): void {
    if (line.byteLength < RECEIVED_PREFIX.length) return;
    for (let i = 0; i < RECEIVED_PREFIX.length; i++) {
      if ((line[i]! | 0x20) !== RECEIVED_PREFIX.charCodeAt(i)) return;
    }
    this.#hops++;
  }

  lineTooLong(): void {
    this.#longLine = true;
  }

  /** Bytes of message data read so far. */
  get size(): number {
    return this.#size;
  }

  /** What is wrong with the data, if anything, once it has all been read. */
  get problem(): "too-big" | "line-too-long" | "loop" | undefined {
    if (this.#tooBig) return "too-big";
    if (this.#longLine) return "line-too-long";
    // RFC 5321 §6.3: a message with too many Received: headers is looping.
    if (this.#hops >= MAX_HOPS) return "loop";
    return undefined;
  }

  /** Counts Received: headers of content that came by BDAT (DATA counts while reading). */
  countHops(): void {
    if (this.transfer !== "bdat") return;
    // Only the header section is read, up to its first empty line, not the whole body.
    const head = leadingBytes(this.#chunks, headerSectionEnd(this.#chunks));
    const text = new TextDecoder("latin1").decode(head);
    for (const line of text.split("\r\n")) {
      if (line === "") break;
      this.headerLine(new TextEncoder().encode(line.slice(0, RECEIVED_PREFIX.length)));
    }
  }

  /** The content read, as chunks in order. */
  get chunks(): readonly Uint8Array[] {
    return this.#chunks;
  }
}

// Where the first CRLF CRLF of the content ends (all of it when there is none), found
// across the chunks one byte at a time: a header section is short, and this stops there.
function headerSectionEnd(chunks: readonly Uint8Array[]): number {
  let matched = 0; // bytes of CR LF CR LF matched so far
  let offset = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === (matched % 2 === 0 ? CR : LF)) matched++;
      else matched = byte === CR ? 1 : 0;
      if (matched === 4) return offset + i + 1;
    }
    offset += chunk.length;
  }
  return offset;
}

// The chunks' first `length` bytes as one array, copied only when they span chunks.
function leadingBytes(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const first = chunks[0] ?? new Uint8Array();
  if (length <= first.byteLength) return first.subarray(0, length);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= length) break;
    const part = chunk.subarray(0, length - offset);
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const CR = 0x0d;
const LF = 0x0a;

/** OpenSMTPD's hop limit: 100 Received: headers. */
export const MAX_HOPS = 100;
