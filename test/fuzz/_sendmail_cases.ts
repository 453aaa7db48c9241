// Generated sendmail input for the sendmail fuzzer: random bytes in headers and body,
// random line ends, dots and flags, with what must come of it: the queued message is the
// input plus the headers sendmail adds (Bcc: removed), or a usage error (exit 64).

import type { Random } from "./_harness.ts";

/** One generated invocation of `sendmail`. */
export interface SendmailCase {
  readonly input: Uint8Array;
  /** Recipients on the command line. */
  readonly recipients: readonly string[];
  readonly sender?: string;
  readonly fullName?: string;
  /** -t */
  readonly extract: boolean;
  /** -i */
  readonly ignoreDots: boolean;
  /** 64 when the case must be refused, 0 when it must be queued. */
  readonly exit: 0 | 64;
  /** What must follow our Received: header, when queued. */
  readonly expected?: Expected;
}

/** The queued message after Received:, as generated. */
export interface Expected {
  /** The given header lines kept (Bcc: removed), CRLF-ended, as bytes. */
  readonly headers: Uint8Array;
  /** Which of Date:, Message-ID:, From: sendmail must add. */
  readonly added: readonly string[];
  /** The body after the empty line, CRLF-ended, as bytes. */
  readonly body: Uint8Array;
}

const HEADER_NAMES = ["Subject", "X-Data", "Comments", "Keywords", "X-8bit", "Content-Type"];
const CONTROLS = [0x00, 0x01, 0x07, 0x0b, 0x1b, 0x7f];

/** The arguments of the `sendmail` command line for a case (after `sendmail -C FILE`). */
export function sendmailArgs(c: SendmailCase): string[] {
  return [
    ...(c.extract ? ["-t"] : []),
    ...(c.ignoreDots ? ["-i"] : []),
    ...(c.sender === undefined ? [] : ["-f", c.sender]),
    ...(c.fullName === undefined ? [] : ["-F", c.fullName]),
    ...(c.recipients.length > 0 ? ["--", ...c.recipients] : []),
  ];
}

// Random bytes for inside a line: anything but LF, and no CR at the end (a CR before the
// line end belongs to the line end).
function lineBytes(r: Random, max: number, avoid: readonly number[] = []): number[] {
  const out: number[] = [];
  const length = r.int(max + 1);
  for (let i = 0; i < length; i++) {
    let b = r.chance(0.6) ? 0x20 + r.int(0x5f) : r.int(256);
    if (b === 0x0a || avoid.includes(b)) b = 0x2e;
    out.push(b);
  }
  while (out.at(-1) === 0x0d) out.pop();
  return out;
}

function ascii(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

/** One case: headers (some with 8-bit bytes or recipients), a body, flags. */
export function sendmailCase(r: Random): SendmailCase {
  // Whether a header recipient (counted with -t only) or the rest must be refused.
  let headerRefused = false;
  let refused = false;
  const recipient = (onRefuse: () => void): number[] => {
    const user = `u${r.int(50)}`;
    if (r.chance(0.04)) {
      onRefuse();
      const bytes = ascii(`${user}@example.test`);
      bytes.splice(1 + r.int(user.length), 0, r.pick(CONTROLS));
      return bytes;
    }
    return ascii(r.chance(0.2) ? `${user}` : `${user}@example.test`);
  };
  const extract = r.chance(0.5);
  const headers: number[][][] = []; // header → its lines → bytes
  const kept: number[][] = [];
  const has = new Set<string>();
  const wanted = ["Date", "Message-ID", "From"].filter(() => r.chance(0.5));
  let extracted = 0;
  const headerCount = r.chance(0.15) ? 0 : 1 + r.int(6);
  for (let i = 0; i < headerCount; i++) {
    const roll = r.int(10);
    let lines: number[][];
    let name: string;
    if (roll < 3) {
      name = r.pick(["To", "Cc", "Bcc"]);
      const list: number[] = [];
      const count = 1 + r.int(3);
      for (let k = 0; k < count; k++) {
        if (k > 0) list.push(...ascii(", "));
        // A display name may hold 8-bit bytes and control characters: only addresses count.
        const display = r.chance(0.3)
          ? lineBytes(r, 8, [0x3c, 0x3e, 0x2c, 0x22, 0x28, 0x29, 0x3a])
          : [];
        const address = recipient(() => headerRefused = true);
        list.push(...(display.length > 0 ? [...display, 0x20, 0x3c, ...address, 0x3e] : address));
      }
      // With -t a header that is not UTF-8 is refused: its addresses cannot be read.
      if (!isUtf8(list)) headerRefused = true;
      lines = [[...ascii(`${name}: `), ...list]];
      extracted += count;
    } else if (roll < 5 && wanted.length > 0) {
      name = wanted.shift()!;
      lines = [[...ascii(`${name}: `), ...lineBytes(r, 30)]];
    } else {
      name = r.pick(HEADER_NAMES);
      lines = [[...ascii(`${name}:${r.chance(0.8) ? " " : ""}`), ...lineBytes(r, 40)]];
      while (r.chance(0.2)) lines.push([r.pick([0x20, 0x09]), ...lineBytes(r, 30), 0x41]);
    }
    has.add(name.toLowerCase());
    headers.push(lines);
    if (name !== "Bcc") kept.push(...lines);
  }
  const body: number[][] = [];
  const bodyCount = r.int(8);
  for (let i = 0; i < bodyCount; i++) {
    const roll = r.int(12);
    body.push(roll === 0 ? [] : roll === 1 ? [0x2e] : roll === 2 ? [0x2e, 0x2e] : lineBytes(r, 60));
  }
  if (headers.length === 0 && body.length > 0 && isHeaderLike(body[0]!)) body[0]!.unshift(0x20);
  // With or without -i a line holding one dot is part of the message (OpenSMTPD's sendmail
  // reads to the end of its input).
  const ignoreDots = r.chance(0.5);
  const queuedBody = body;
  const separated = headers.length > 0 && (body.length > 0 || r.chance(0.5));

  const inputLines = [...headers.flat(), ...(separated ? [[]] : []), ...body];
  const input: number[] = [];
  inputLines.forEach((line, i) => {
    input.push(...line);
    const last = i === inputLines.length - 1;
    if (last && line.length > 0 && r.chance(0.2)) return; // no final line end
    input.push(...(r.chance(0.5) ? [0x0d, 0x0a] : [0x0a]));
  });

  const count = extract && extracted > 0 && r.chance(0.6) ? 0 : 1 + r.int(2);
  // Control characters in a recipient on the command line are refused too (a NUL cannot
  // be passed in an argument at all: it stands for the other control characters there).
  const args = Array.from(
    { length: count },
    () =>
      new TextDecoder().decode(new Uint8Array(recipient(() => refused = true))).replaceAll(
        "\0",
        "\x01",
      ),
  );
  if (extract && headerRefused) refused = true;
  // Nobody to send to.
  if (args.length === 0 && (!extract || extracted === 0)) refused = true;
  const sender = r.chance(0.3)
    ? r.pick(["cron@example.test", "<>", "app", "bad\x01@example.test"])
    : undefined;
  if (sender?.includes("\x01")) refused = true;
  const fullName = r.chance(0.2)
    ? r.pick(["Cron Daemon", "José Müller", "evil\r\nBcc: x@y"])
    : undefined;
  if (fullName?.includes("\r")) refused = true;

  const crlf = (lines: number[][]) => new Uint8Array(lines.flatMap((l) => [...l, 0x0d, 0x0a]));
  const added = ["Date", "Message-ID", "From"].filter((n) => !has.has(n.toLowerCase()));
  return {
    input: new Uint8Array(input),
    recipients: args,
    ...(sender === undefined ? {} : { sender }),
    ...(fullName === undefined ? {} : { fullName }),
    extract,
    ignoreDots,
    exit: refused ? 64 : 0,
    ...(refused ? {} : { expected: { headers: crlf(kept), added, body: crlf(queuedBody) } }),
  };
}

function isUtf8(bytes: readonly number[]): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
    return true;
  } catch {
    return false;
  }
}

function isHeaderLike(line: readonly number[]): boolean {
  const text = String.fromCharCode(...line.slice(0, 80));
  return /^[!-9;-~]+:/.test(text);
}

/**
 * Checks queued content against a case: our Received: (three lines), the added headers,
 * the kept ones byte for byte, an empty line, and the body byte for byte. Throws on a mismatch.
 */
export function checkQueued(c: SendmailCase, content: Uint8Array): void {
  const expected = c.expected;
  if (!expected) throw new Error("the case should have been refused, but was queued");
  const text = String.fromCharCode(...content);
  const lines = text.split("\r\n");
  const fail = (why: string) => {
    throw new Error(`${why}\n--- queued ---\n${JSON.stringify(text)}`);
  };
  if (
    !lines[0]!.startsWith("Received: by ") || !lines[1]!.startsWith("\t") ||
    !lines[2]!.startsWith("\t")
  ) {
    fail("the message does not start with our Received: header");
  }
  let at = lines.slice(0, 3).join("\r\n").length + 2;
  const take = (bytes: Uint8Array, what: string) => {
    const got = content.subarray(at, at + bytes.length);
    if (got.length !== bytes.length || got.some((b, i) => b !== bytes[i])) {
      fail(`${what} differs: expected ${JSON.stringify(String.fromCharCode(...bytes))}`);
    }
    at += bytes.length;
  };
  for (const name of expected.added) {
    const end = text.indexOf("\r\n", at);
    if (!text.startsWith(`${name}: `, at) || end === -1) fail(`no added ${name}: header`);
    at = end + 2;
  }
  take(expected.headers, "the kept headers");
  take(new Uint8Array([0x0d, 0x0a]), "the empty line after the headers");
  take(expected.body, "the body");
  if (at !== content.length) fail(`${content.length - at} bytes more than the input`);
}

/** Runs a case in-process through the code sendmail queues with; throws on a mismatch. */
export async function checkCaseInProcess(c: SendmailCase): Promise<void> {
  const { EnqueueError, prepareMessage } = await import("../../src/control/mod.ts");
  let content: Uint8Array;
  try {
    content = prepareMessage({
      input: c.input,
      recipients: c.recipients,
      ...(c.sender === undefined ? {} : { sender: c.sender }),
      ...(c.fullName === undefined ? {} : { fullName: c.fullName }),
      extractRecipients: c.extract,
      // What sendmail asks for, -i or not: the input to its end.
      ignoreDots: true,
      hostname: "mx.example.test",
      user: "tester",
      msgid: "0123abcd",
      now: new Date(0),
    }).content;
  } catch (error) {
    if (!(error instanceof EnqueueError)) throw error;
    if (c.exit !== 64) throw new Error(`refused: ${error.message}\n${describe(c)}`);
    return;
  }
  if (c.exit !== 0) throw new Error(`queued, but should be refused\n${describe(c)}`);
  try {
    checkQueued(c, content);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : error}\n${describe(c)}`);
  }
}

/** A case as text, for failure messages. */
export function describe(c: SendmailCase): string {
  return `--- args ---\n${JSON.stringify(sendmailArgs(c))}\n--- input ---\n${
    JSON.stringify(String.fromCharCode(...c.input))
  }`;
}
