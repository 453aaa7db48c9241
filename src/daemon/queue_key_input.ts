// Where a `queue encryption` key that the file does not hold comes from: $SMTPD_QUEUE_KEY,
// else one line of standard input, read as OpenSMTPD's smtpd.c reads it (getpass(3) on a
// terminal, getline(3) otherwise). Its form is the configuration's (parseQueueKey).

import type { Config } from "../config/mod.ts";

/** The variable that carries the queue key to a process that cannot read it itself. */
export const QUEUE_KEY_VARIABLE = "SMTPD_QUEUE_KEY";

/** The prompt on a terminal, OpenSMTPD's. */
const PROMPT = "queue key: ";

/** The configuration encrypts its queue and leaves the key to the environment or input. */
export function keyComesFromInput(config: Config): boolean {
  const encryption = config.queue.encryption;
  if (!encryption) return false;
  const key = encryption.key;
  return key === undefined || key.toLowerCase() === "stdin" || key === "-";
}

/**
 * The key from $SMTPD_QUEUE_KEY, else one line of standard input: on a terminal after a
 * prompt and without echo, otherwise up to the first newline and not a byte further (a
 * pipe left open does not hold the start, and what follows the line stays unread).
 */
export async function readQueueKeyInput(): Promise<string> {
  const fromEnv = Deno.env.get(QUEUE_KEY_VARIABLE);
  if (fromEnv) return fromEnv;
  const line = Deno.stdin.isTerminal() ? await promptWithoutEcho() : await readOneLine();
  if (line === undefined || line.trim() === "") {
    throw new Error("queue encryption: no key on standard input");
  }
  return line.trim();
}

// One byte per read: standard input is shared with whatever runs after, so nothing past
// the newline may be taken into a buffer of ours.
async function readOneLine(): Promise<string | undefined> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  for (;;) {
    const n = await Deno.stdin.read(one);
    if (n === null) return bytes.length === 0 ? undefined : decode(bytes);
    if (n === 0) continue;
    if (one[0] === LF) return decode(bytes);
    bytes.push(one[0]!);
  }
}

// getpass(3): the terminal without echo, its mode restored whatever happens. In cbreak
// mode Ctrl-C still interrupts; erasing is done here, as the terminal no longer does it.
async function promptWithoutEcho(): Promise<string | undefined> {
  const encoder = new TextEncoder();
  // Echo goes off before the prompt shows: a key typed as soon as it appears is not echoed.
  Deno.stdin.setRaw(true, { cbreak: true });
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(PROMPT));
    const one = new Uint8Array(1);
    for (;;) {
      const n = await Deno.stdin.read(one);
      const byte = one[0]!;
      if (n === null || (byte === EOT && bytes.length === 0)) return undefined;
      if (n === 0 || byte === EOT) continue;
      if (byte === CR || byte === LF) return decode(bytes);
      if (byte === DEL || byte === BS) bytes.pop();
      else if (byte === NAK) bytes.length = 0;
      else bytes.push(byte);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
}

const LF = 0x0a;
const CR = 0x0d;
const EOT = 0x04; // Ctrl-D
const NAK = 0x15; // Ctrl-U: erase the line
const BS = 0x08;
const DEL = 0x7f;

function decode(bytes: readonly number[]): string {
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
