// One fuzzed SMTP session over a real socket: a script drawn from a Random (transactions
// with DATA or BDAT, stray and broken commands, AUTH over SMTPS, pipelined bursts, random
// disconnects), sent in random pieces, with the daemon's replies read and checked throughout.

import type { Random } from "./_harness.ts";
import type { FuzzDaemon } from "./_smtp_daemon.ts";
import { FUZZ_PASSWORD, FUZZ_USER } from "./_smtp_daemon.ts";
import { ReplyStream } from "./_smtp_replies.ts";
import {
  authLines,
  dataBytes,
  helloLine,
  line,
  mailLine,
  MESSAGE_RECIPIENTS,
  messageText,
  mutate,
  rcptLine,
  simpleLine,
} from "./_smtp_script.ts";

// A reply the client waits for comes within this, or the client stops waiting (pipelines).
const REPLY_WAIT_MS = 1_000;
// A daemon that has not closed a session this long after the client's end of input hangs.
const HANG_MS = 20_000;
const MUTATION_RATE = 0.15;
const encoder = new TextEncoder();
// The daemon reads command lines as UTF-8 with replacement; names are counted the same way.
const UTF8 = new TextDecoder();
const DOMAIN_PART = "@example.test";
// What ends a local part when it is read backwards from its "@".
const NAME_STOP_REGEXP = /[\s<>:@",;]/;

/** A message the client finished sending, and the recipients its window of input named. */
export interface SentMessage {
  readonly token: string;
  /** Lower-cased local parts @example.test named since the previous message, with counts. */
  readonly named: ReadonlyMap<string, number>;
}

/** What one session did, for the delivery ledger. */
export interface SessionRecord {
  readonly id: string;
  /** Message ids the daemon answered 250 for at the end of a message. */
  readonly accepted: readonly string[];
  /** Messages whose end was sent, in order. */
  readonly messages: readonly SentMessage[];
  /** Local parts named after the last message's end (they may still join its transaction). */
  readonly trailing: ReadonlyMap<string, number>;
  /** The client read every reply to a clean end of the connection. */
  readonly complete: boolean;
  /** Command lines sent. */
  readonly commands: number;
}

/** Runs one session; throws on a malformed reply or a hang. `id` prefixes its tokens. */
export async function runFuzzSession(
  daemon: FuzzDaemon,
  r: Random,
  id: string,
): Promise<SessionRecord> {
  const useTls = daemon.tlsPort !== undefined && r.chance(0.1);
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: useTls ? daemon.tlsPort! : daemon.port,
  });
  const conn: Deno.Conn = useTls
    ? await Deno.startTls(tcp, { hostname: "mx.example.test", caCerts: daemon.caCerts })
    : tcp;
  const session = new ScriptedSession(conn, r, id);
  try {
    await session.play();
    return session.finish();
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
    await session.replies.ended;
  }
}

class ScriptedSession {
  readonly replies: ReplyStream;
  #conn: Deno.Conn;
  #r: Random;
  #id: string;
  #interactive: boolean;
  #writeFailed = false;
  #aborted = false;
  #commands = 0;
  #named = new Map<string, number>();
  #messages: SentMessage[] = [];
  #solo = 0;
  #tokens = 0;

  constructor(conn: Deno.Conn, r: Random, id: string) {
    this.#conn = conn;
    this.#r = r;
    this.#id = id;
    this.replies = new ReplyStream(conn);
    this.#interactive = r.chance(0.6);
  }

  async play(): Promise<void> {
    const r = this.#r;
    if (this.#interactive) await this.replies.waitFor(1, REPLY_WAIT_MS);
    if (r.chance(0.9)) await this.#command(helloLine(r));
    const steps = 1 + r.int(12);
    const abortAt = r.chance(0.12) ? r.int(steps) : -1;
    for (let step = 0; step < steps && !this.#writeFailed; step++) {
      if (step === abortAt) return await this.#abort();
      await this.#step();
    }
    if (r.chance(0.7)) await this.#command("QUIT", { mutable: false });
    try {
      await this.#conn.closeWrite();
    } catch {
      // The daemon closed first.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = await Promise.race([
      this.replies.ended.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), HANG_MS)),
    ]);
    clearTimeout(timer);
    if (hung) {
      throw new Error(
        `hang: the daemon did not close the session ${HANG_MS} ms after its input ended`,
      );
    }
  }

  finish(): SessionRecord {
    const { replies } = this;
    const complete = !this.#aborted && replies.eof && !replies.reset;
    const problems = [...replies.problems];
    if (complete && replies.unterminated !== "") {
      problems.push(`reply text without CRLF at the end: ${JSON.stringify(replies.unterminated)}`);
    }
    if (problems.length > 0) throw new Error(`malformed replies: ${problems.join("; ")}`);
    return {
      id: this.#id,
      accepted: replies.accepted,
      messages: this.#messages,
      trailing: this.#named,
      complete,
      commands: this.#commands,
    };
  }

  async #step(): Promise<void> {
    const r = this.#r;
    const roll = r.next();
    if (roll < 0.3) return await this.#message(false);
    if (roll < 0.4) return await this.#message(true);
    if (roll < 0.48) return await this.#command(helloLine(r));
    if (roll < 0.54) return await this.#command(mailLine(r));
    if (roll < 0.6) {
      return await this.#command(rcptLine(r, r.chance(0.5) ? `solo${this.#solo++}` : undefined));
    }
    if (roll < 0.65) return await this.#data(messageText(r, this.#token()));
    if (roll < 0.69) return await this.#bdatMisuse();
    if (roll < 0.8) return await this.#command(simpleLine(r));
    if (roll < 0.87) {
      for (const text of authLines(r, FUZZ_USER, FUZZ_PASSWORD)) await this.#command(text);
      return;
    }
    if (roll < 0.93) {
      // A pipelined burst of commands in one write.
      const texts = Array.from(
        { length: 2 + r.int(8) },
        () => r.pick(["NOOP", "RSET", simpleLine(r), mailLine(r)]),
      );
      this.#commands += texts.length;
      await this.#send(encoder.encode(texts.map((t) => t + "\r\n").join("")), true);
      return;
    }
    // Random bytes, CR and LF included.
    await this.#send(r.bytes(1 + r.int(r.chance(0.1) ? 3000 : 60)), false);
  }

  // A whole transaction: RSET, MAIL, RCPT to one to three of the message recipients, then
  // DATA or BDAT with a body that carries a fresh token.
  async #message(viaBdat: boolean): Promise<void> {
    const r = this.#r;
    if (r.chance(0.8)) await this.#command("RSET", { mutable: false });
    await this.#command(mailLine(r));
    const names = [...MESSAGE_RECIPIENTS].sort(() => r.next() - 0.5).slice(0, 1 + r.int(3));
    for (const name of names) await this.#command(rcptLine(r, name));
    if (r.chance(0.2)) await this.#command(rcptLine(r, undefined));
    const message = messageText(r, this.#token());
    if (viaBdat) await this.#bdat(message);
    else await this.#data(message);
  }

  async #data(message: { token: string; head: string; body: string[] }): Promise<void> {
    const r = this.#r;
    await this.#command("DATA", { mutable: r.chance(0.3) });
    // An interactive client sends no body after a refusal of DATA.
    if (this.#interactive && this.replies.lastCode !== 354) return;
    const body = message.body.map((l) => {
      const bytes = encoder.encode(l + "\r\n");
      return r.chance(0.03) ? mutate(r, bytes) : bytes;
    });
    const head = encoder.encode(message.head);
    const stuffed = encoder.encode(dataBytes({ head: "", body: message.body }, r.chance(0.03)));
    const content = r.chance(0.1) ? concat([head, ...body, line(".")]) : concat([head, stuffed]);
    const before = this.replies.finals;
    await this.#send(content, false);
    this.#endMessage(message.token);
    if (this.#interactive) await this.#waitReply(before);
  }

  async #bdat(message: { token: string; head: string; body: string[] }): Promise<void> {
    const r = this.#r;
    const content = encoder.encode(message.head + message.body.map((l) => l + "\r\n").join(""));
    const cuts = [
      0,
      ...Array.from({ length: r.int(3) }, () => r.int(content.length)),
      content.length,
    ]
      .sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const chunk = content.subarray(cuts[i]!, cuts[i + 1]!);
      const last = i + 2 === cuts.length;
      let size = String(chunk.length);
      // Misuse: a size that does not match, or is no number.
      if (r.chance(0.05)) size = r.pick([String(chunk.length + 1 + r.int(9)), "-1", "x", ""]);
      const before = this.replies.finals;
      this.#commands++;
      await this.#send(concat([line(`BDAT ${size}${last ? " LAST" : ""}`), chunk]), false);
      if (last) this.#endMessage(message.token);
      if (this.#interactive) await this.#waitReply(before);
    }
  }

  async #bdatMisuse(): Promise<void> {
    const r = this.#r;
    const size = r.pick([0, 1, 10, 100, 70_000]);
    const header = r.pick([
      `BDAT ${size}`,
      `BDAT ${size} LAST`,
      "BDAT",
      "BDAT 5 LAST x",
      "BDAT 1e3",
    ]);
    this.#commands++;
    await this.#send(concat([line(header), r.bytes(r.int(size + 1))]), false);
  }

  // A random disconnect: at once, in the middle of a message, or right after sending one.
  async #abort(): Promise<void> {
    const r = this.#r;
    const kind = r.int(3);
    if (kind > 0) {
      const token = this.#token();
      const message = messageText(r, token);
      const text = `${mailLine(r)}\r\n${rcptLine(r, "alice")}\r\nDATA\r\n` +
        dataBytes(message, false);
      const bytes = encoder.encode(text);
      await this.#send(kind === 1 ? bytes.subarray(0, r.int(bytes.length)) : bytes, false);
      if (kind === 2) this.#endMessage(token);
    }
    this.#aborted = true;
    this.#conn.close();
  }

  #token(): string {
    return `${this.#id}m${this.#tokens++}`;
  }

  #endMessage(token: string): void {
    this.#messages.push({ token, named: this.#named });
    this.#named = new Map();
  }

  async #command(text: string, options: { mutable?: boolean } = {}): Promise<void> {
    const before = this.replies.finals;
    this.#commands++;
    const mutated = await this.#send(line(text), options.mutable ?? true);
    if (this.#interactive && !mutated) await this.#waitReply(before);
  }

  async #waitReply(before: number): Promise<void> {
    if (this.#writeFailed) return;
    if (!(await this.replies.waitFor(before + 1, REPLY_WAIT_MS))) this.#interactive = false;
  }

  // Writes the bytes (mutated at the mutation rate when allowed) in random pieces; returns
  // whether they were mutated.
  async #send(bytes: Uint8Array, mutable: boolean): Promise<boolean> {
    if (this.#writeFailed) return false;
    const r = this.#r;
    const mutated = mutable && r.chance(MUTATION_RATE);
    const out = mutated ? mutate(r, bytes) : bytes;
    this.#noteNames(out);
    const cuts = r.chance(0.2) ? [r.int(out.length), r.int(out.length)].sort((a, b) => a - b) : [];
    let from = 0;
    try {
      for (const to of [...cuts, out.length]) {
        await writeAll(this.#conn, out.subarray(from, to));
        from = to;
      }
    } catch {
      this.#writeFailed = true;
    }
    return mutated;
  }

  // Counts the local parts @example.test the bytes name (found from each "@example.test"
  // backwards: a regular expression would backtrack over long runs without one).
  #noteNames(bytes: Uint8Array): void {
    const text = UTF8.decode(bytes).toLowerCase();
    for (let at = text.indexOf(DOMAIN_PART); at !== -1; at = text.indexOf(DOMAIN_PART, at + 1)) {
      let start = at;
      while (start > 0 && !NAME_STOP_REGEXP.test(text[start - 1]!)) start--;
      if (start === at) continue;
      const name = text.slice(start, at);
      this.#named.set(name, (this.#named.get(name) ?? 0) + 1);
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
