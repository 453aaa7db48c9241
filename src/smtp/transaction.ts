// One mail transaction, MAIL FROM to the end of DATA: the sender, accepted recipients
// and the message content as it arrives. RSET and end-of-message drop it.

import { randomHex } from "../mail/mod.ts";
import type { NewEnvelope } from "../queue/mod.ts";
import { type DataBudget, PROCESS_DATA_BUDGET } from "./data_budget.ts";
import type { DataSink } from "./line_reader.ts";
import type { MailDsn } from "./dsn.ts";

const RECEIVED_PREFIX = "received:";

/** What a {@link Transaction} is opened with besides its sender. */
export interface TransactionOptions {
  /** MAIL FROM parameters (SIZE, BODY…), upper-cased keywords. */
  readonly params: ReadonlyMap<string, string>;
  /** Largest message in bytes: more is read and dropped, and refused at the end. */
  readonly maxSize: number;
  /** The queue id (default: one at random). */
  readonly msgid?: string;
  /** What the data held counts against (default: the process's). */
  readonly budget?: DataBudget;
}

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
  #budget: DataBudget;
  // Bytes of #chunks counted against the budget (until released).
  #held = 0;
  // Data is read on and dropped: too big, or the budget had no room for it.
  #dropping = false;
  #tooBig = false;
  #overBudget = false;
  #longLine = false;
  #hops = 0;

  constructor(sender: string, options: TransactionOptions) {
    this.sender = sender;
    this.msgid = options.msgid ?? randomHex(4);
    this.params = options.params;
    this.#maxSize = options.maxSize;
    this.#budget = options.budget ?? PROCESS_DATA_BUDGET;
  }

  write(bytes: Uint8Array): void {
    this.#size += bytes.byteLength;
    if (this.#size > this.#maxSize) {
      // Keep reading to the end of the data, but stop holding it.
      this.#tooBig = true;
      this.#stopHolding();
      return;
    }
    if (this.#dropping) return;
    if (!this.#budget.reserve(bytes.byteLength, this.#maxSize)) {
      // The sessions hold all the data they may: this message is read on and dropped,
      // and refused with a temporary failure once it ends.
      this.#overBudget = true;
      this.#stopHolding();
      return;
    }
    this.#held += bytes.byteLength;
    this.#chunks.push(bytes);
  }

  // Drops the data held and gives its bytes back; what comes after is dropped too.
  #stopHolding(): void {
    this.#dropping = true;
    this.releaseData();
  }

  /**
   * Drops the content read and gives its bytes back to the budget: once the message is
   * committed or refused, or the transaction ends without it. Safe to call more than once.
   */
  releaseData(): void {
    this.#chunks = [];
    this.#budget.release(this.#held);
    this.#held = 0;
  }

  /**
   * Drops the chunks once they were copied into the message to commit; their bytes stay
   * counted (the copy is as large) until {@link releaseData}.
   */
  dropChunks(): void {
    this.#chunks = [];
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
  get problem(): "too-big" | "line-too-long" | "loop" | "over-budget" | undefined {
    if (this.#tooBig) return "too-big";
    if (this.#longLine) return "line-too-long";
    // RFC 5321 §6.3: a message with too many Received: headers is looping.
    if (this.#hops >= MAX_HOPS) return "loop";
    // Last: a permanent refusal tells the client more than "try again later".
    if (this.#overBudget) return "over-budget";
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
