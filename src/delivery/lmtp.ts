// Delivers a message to an LMTP server (RFC 2033) over TCP or a unix socket, and reports one
// result per recipient: LMTP answers DATA once for each accepted recipient, so a single
// transaction can succeed for some recipients and fail, temporarily or for good, for others.

import { DEFAULT_DELIVERY_TIMEOUTS, WELL_KNOWN_PORTS } from "../config/mod.ts";
import {
  DELIVERED,
  type DeliveryFailure,
  type DeliveryResult,
  errorMessage,
  failureFromReply,
  permfail,
  tempfail,
} from "../mail/mod.ts";

/** Where the LMTP server is: "host:port", "[ipv6]:port" or "/path/to/unix.socket". */
export interface LmtpDestination {
  readonly target: string;
}

/** One message and its envelope, as handed to {@link deliverByLmtp}. */
export interface LmtpMessage {
  /** The envelope sender; "" is the null sender and becomes `MAIL FROM:<>`. */
  readonly sender: string;
  /** The RCPT TO addresses, in the order the results come back. */
  readonly recipients: readonly string[];
  /** The whole message with CRLF line ends, not dot-stuffed. */
  readonly content: Uint8Array;
  /** The name sent with LHLO, "localhost" by default. */
  readonly lhlo?: string;
  /** How long to wait for each reply (and each write), 300 000 ms by default. */
  readonly timeoutMs?: number;
}

const DEFAULT_LHLO = "localhost";
// LMTP has no well-known port of its own; OpenSMTPD falls back to the "lmtp" service, 24.
const DEFAULT_PORT = WELL_KNOWN_PORTS.lmtp;
// Waiting long for the goodbye of a finished transaction gains nothing.
const QUIT_TIMEOUT_MS = 5_000;
// Far beyond any sane reply line; stops a misbehaving server from filling memory.
const MAX_PENDING_CHARS = 65_536;

const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;

/** One LMTP transaction (RFC 2033); resolves with one result per recipient, in order. */
export async function deliverByLmtp(
  dest: LmtpDestination,
  message: LmtpMessage,
): Promise<DeliveryResult[]> {
  const count = message.recipients.length;
  if (count === 0) return [];
  const timeoutMs = message.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUTS.replyMs;
  const address = parseTarget(dest.target);
  if (address === undefined) {
    return fill(count, tempfail(`invalid LMTP destination "${dest.target}"`));
  }
  let conn: Deno.Conn;
  try {
    conn = await connect(address, timeoutMs);
  } catch (error) {
    return fill(count, tempfail(`cannot connect to ${dest.target}: ${errorMessage(error)}`));
  }
  const session = new Session(conn, timeoutMs);
  const results: (DeliveryResult | undefined)[] = new Array(count).fill(undefined);
  let failure: DeliveryFailure = tempfail("transaction ended early");
  try {
    await transact(session, message, results);
  } catch (error) {
    failure = error instanceof LmtpFailure
      ? error.result
      : tempfail(`LMTP with ${dest.target}: ${errorMessage(error)}`);
  } finally {
    session.close();
  }
  // Recipients the transaction never got to share the reason it stopped.
  return results.map((result) => result ?? failure);
}

// ---------------------------------------------------------------------------------------------
// The transaction

/** Runs the dialogue, filling `results`; throws LmtpFailure for what applies to the rest. */
async function transact(
  session: Session,
  message: LmtpMessage,
  results: (DeliveryResult | undefined)[],
): Promise<void> {
  expectSuccess(await session.readReply(), "greeting", false);
  expectSuccess(await session.command(`LHLO ${message.lhlo ?? DEFAULT_LHLO}`), "LHLO", false);
  if (!isSafeAddress(message.sender)) {
    throw new LmtpFailure(permfail(`invalid sender address "${message.sender}"`));
  }
  expectSuccess(await session.command(`MAIL FROM:<${message.sender}>`), "MAIL FROM", true);

  const accepted = await sendRecipients(session, message.recipients, results);
  if (accepted.length === 0) {
    await session.quit();
    return;
  }

  const dataReply = await session.command("DATA");
  if (dataReply.code !== 354) throw new LmtpFailure(replyFailure(dataReply, "DATA"));
  await session.write(dotStuff(message.content));

  // RFC 2033 §4.2: one reply per accepted recipient, in the order of the RCPT commands.
  for (const index of accepted) {
    results[index] = replyResult(await session.readReply());
  }
  await session.quit();
}

/** Sends every RCPT TO; records refusals and returns the indexes of the accepted ones. */
async function sendRecipients(
  session: Session,
  recipients: readonly string[],
  results: (DeliveryResult | undefined)[],
): Promise<number[]> {
  const accepted: number[] = [];
  for (const [index, recipient] of recipients.entries()) {
    if (!isSafeAddress(recipient)) {
      results[index] = permfail(`invalid recipient address "${recipient}"`);
      continue;
    }
    const reply = await session.command(`RCPT TO:<${recipient}>`);
    if (reply.code >= 200 && reply.code < 300) accepted.push(index);
    else results[index] = replyResult(reply);
  }
  return accepted;
}

/** Throws unless the reply is 2xx; `permanent` lets a 5xx fail every recipient for good. */
function expectSuccess(reply: Reply, step: string, permanent: boolean): void {
  if (reply.code >= 200 && reply.code < 300) return;
  const result = replyFailure(reply, step);
  throw new LmtpFailure(permanent ? result : tempfail(result.reason));
}

/** Maps a final reply to a recipient's result. */
function replyResult(reply: Reply): DeliveryResult {
  return reply.code >= 200 && reply.code < 300 ? DELIVERED : replyFailure(reply, "");
}

/** 5xx is permanent; 4xx and anything unexpected are worth retrying. */
function replyFailure(reply: Reply, step: string): DeliveryFailure {
  const reason = step === "" || reply.code >= 400 ? reply.text : `${step}: ${reply.text}`;
  return failureFromReply(reply.code, reason);
}

/** CR, LF or angle brackets in an address would let it inject or garble commands. */
function isSafeAddress(address: string): boolean {
  return !/[\r\n<>]/.test(address);
}

// ---------------------------------------------------------------------------------------------
// Message body

/** Doubles a leading dot on every line and appends the terminating ".\r\n". */
function dotStuff(content: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === DOT && (i === 0 || content[i - 1] === LF)) dots++;
  }
  const needsCrlf = content.length > 0 &&
    !(content[content.length - 2] === CR && content[content.length - 1] === LF);
  const out = new Uint8Array(content.length + dots + (needsCrlf ? 2 : 0) + 3);
  let at = 0;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!;
    if (byte === DOT && (i === 0 || content[i - 1] === LF)) out[at++] = DOT;
    out[at++] = byte;
  }
  if (needsCrlf) at = put(out, at, CR, LF);
  put(out, at, DOT, CR, LF);
  return out;
}

function put(out: Uint8Array, at: number, ...bytes: number[]): number {
  for (const byte of bytes) out[at++] = byte;
  return at;
}

// ---------------------------------------------------------------------------------------------
// Connection

type Address =
  | { readonly transport: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly transport: "unix"; readonly path: string };

/** Parses "host:port", "[ipv6]:port", "host" or "/path"; undefined when malformed. */
function parseTarget(target: string): Address | undefined {
  if (target.startsWith("/")) return { transport: "unix", path: target };
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+))(?::(\d{1,5}))?$/.exec(target);
  if (match === null) return undefined;
  const hostname = match[1] ?? match[2]!;
  const port = match[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { transport: "tcp", hostname, port };
}

async function connect(address: Address, timeoutMs: number): Promise<Deno.Conn> {
  if (address.transport === "unix") {
    return await Deno.connect({ transport: "unix", path: address.path });
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("connect timed out")), timeoutMs);
  try {
    return await Deno.connect({
      hostname: address.hostname,
      port: address.port,
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

interface Reply {
  readonly code: number;
  /** The whole reply, lines joined by spaces, e.g. "550 5.1.1 no such user". */
  readonly text: string;
}

/** A connection with reply buffering and a deadline on every read and write. */
class Session {
  readonly #conn: Deno.Conn;
  readonly #timeoutMs: number;
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();
  readonly #chunk = new Uint8Array(16_384);
  #pending = "";
  #closed = false;

  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  async command(line: string): Promise<Reply> {
    await this.write(this.#encoder.encode(`${line}\r\n`));
    return await this.readReply();
  }

  /** Says goodbye without letting a slow or broken server turn success into failure. */
  async quit(): Promise<void> {
    try {
      await this.write(this.#encoder.encode("QUIT\r\n"));
      await this.readReply(Math.min(this.#timeoutMs, QUIT_TIMEOUT_MS));
    } catch {
      // The results are already known; the goodbye is a courtesy.
    }
  }

  /** Writes all of `data`, looping because a write may take only part of it. */
  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const chunk = data.subarray(offset);
      offset += await this.#deadline(this.#timeoutMs, () => this.#conn.write(chunk));
    }
  }

  /** Reads one reply, which may span several lines and arrive in any number of pieces. */
  async readReply(timeoutMs = this.#timeoutMs): Promise<Reply> {
    const texts: string[] = [];
    for (;;) {
      const line = await this.#readLine(timeoutMs);
      const match = /^(\d{3})(?:([ -])(.*))?$/.exec(line);
      if (match === null) throw new Error(`malformed reply "${line}"`);
      const code = Number(match[1]);
      texts.push(match[3] ?? "");
      if (match[2] !== "-") {
        const text = texts.filter((t) => t !== "").join(" ");
        return { code, text: text === "" ? String(code) : `${code} ${text}` };
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or a timeout; nothing left to release.
    }
  }

  async #readLine(timeoutMs: number): Promise<string> {
    for (;;) {
      const end = this.#pending.indexOf("\n");
      if (end >= 0) {
        const line = this.#pending.slice(0, end).replace(/\r$/, "");
        this.#pending = this.#pending.slice(end + 1);
        return line;
      }
      if (this.#pending.length > MAX_PENDING_CHARS) throw new Error("reply line too long");
      const n = await this.#deadline(timeoutMs, () => this.#conn.read(this.#chunk));
      if (n === null) throw new Error("connection closed by server");
      this.#pending += this.#decoder.decode(this.#chunk.subarray(0, n), { stream: true });
    }
  }

  /** Runs one I/O step; closing the connection on expiry is what unblocks a stuck read. */
  async #deadline<T>(timeoutMs: number, step: () => Promise<T>): Promise<T> {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, timeoutMs);
    try {
      const value = await step();
      if (expired) throw new Error(`no answer within ${timeoutMs} ms`);
      return value;
    } catch (error) {
      if (expired) throw new Error(`no answer within ${timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Carries a result for every recipient not yet settled out of the transaction. */
class LmtpFailure extends Error {
  readonly result: DeliveryFailure;
  constructor(result: DeliveryFailure) {
    super(result.reason);
    this.result = result;
  }
}

function fill(count: number, result: DeliveryResult): DeliveryResult[] {
  return new Array<DeliveryResult>(count).fill(result);
}
