// mbox delivery, as mail.local(8) does it: a `From ` separator line, `>From ` quoting
// (mboxrd: `>From `, `>>From `, …), a blank line after the message, and the two locks
// other mail programs respect — a `NAME.lock` dot-lock (mbox_lock.ts) and an advisory
// flock(2). A write that fails halfway is cut back, by this writer or, if it dies, by the
// next one, so the mailbox never keeps half a message.

import { indexOfByte } from "../mail/mod.ts";
import { lockMbox, type MboxCutBack } from "./mbox_lock.ts";
import { openMbox } from "./mbox_open.ts";

/** What is added around the stored message. */
export interface MboxDelivery {
  /** The envelope sender; "" for the null sender (MAILER-DAEMON in the From_ line). */
  readonly sender: string;
  /** The recipient, for `Delivered-To:`; omitted for a plain `/file` append. */
  readonly deliveredTo?: string;
  /** The time in the From_ line (default now). */
  readonly now?: Date;
  /** How long to wait for another program's lock, ms (default 30 s). */
  readonly lockTimeoutMs?: number;
  /**
   * A `/file` of an alias or a ~/.forward, named by the administrator or the user: opened
   * as OpenSMTPD's mail.mboxfile opens it (created or appended to, wherever it leads),
   * without the checks that guard a mailbox in a spool others may write.
   */
  readonly namedFile?: boolean;
}

/**
 * Appends one message to an mbox file, created 0600 when missing; one that is a link, has
 * other names or belongs to someone else is refused (openMbox()).
 */
export async function deliverToMbox(
  path: string,
  content: Uint8Array,
  delivery: MboxDelivery,
): Promise<void> {
  const data = formatMboxEntry(content, delivery);
  const lock = await lockMbox(path, delivery.lockTimeoutMs ?? 30_000);
  let file: Deno.FsFile | undefined;
  try {
    file = delivery.namedFile
      ? await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 })
      : await openMbox(path);
    await file.lock(true);
    if (lock.cutBack) await cutBackDeadWrite(file, lock.cutBack);
    const size = await file.seek(0, Deno.SeekMode.End);
    await lock.record(size, (await file.stat()).ino ?? 0);
    try {
      await writeAll(file, await missingMessageEnd(file, size));
      await writeAll(file, data);
      await file.syncData();
    } catch (error) {
      // Cut the mailbox back to where it was: no half message for the reader.
      await file.truncate(size).catch(() => {});
      throw error;
    }
  } finally {
    // The dot-lock goes while the flock is still held: a lock left standing with the flock
    // free is then known to be a dead writer's (mbox_lock.ts).
    await lock.release();
    file?.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) offset += await file.write(data.subarray(offset));
}

// A writer killed mid-append left half a message after the size its lock recorded: cut it
// off, so the retry lands whole. Only if nothing was written since its lock was broken, and
// a From_ line of ours starts at that size (after at most the two line ends we add first).
async function cutBackDeadWrite(file: Deno.FsFile, cutBack: MboxCutBack): Promise<void> {
  const now = await file.stat();
  if (now.ino !== cutBack.ino || now.size !== cutBack.seenSize) return;
  await file.seek(cutBack.size, Deno.SeekMode.Start);
  const head = new Uint8Array(FROM_.byteLength + 2);
  const read = (await file.read(head)) ?? 0;
  if (!DEAD_WRITE_START_REGEXP.test(decoder.decode(head.subarray(0, read)))) return;
  await file.truncate(cutBack.size);
}

// mboxo and mboxrd end each message with a blank line before the next From_ line, and a
// mailbox cut short (by a crash, a full disk, another program) lacks it, or even the last
// line end: without them our From_ line would sit inside that message and hide ours. Like
// dovecot's mbox_seek_to_end(), which adds a missing last line end, only also the blank line.
async function missingMessageEnd(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  if (size === 0) return new Uint8Array();
  const tail = new Uint8Array(2);
  const from = Math.max(0, size - 2);
  await file.seek(from, Deno.SeekMode.Start);
  const read = (await file.read(tail)) ?? 0;
  await file.seek(0, Deno.SeekMode.End);
  const last = tail.subarray(0, read);
  if (last[last.byteLength - 1] !== LF) return encoder.encode("\n\n");
  if (last.byteLength === 2 && last[0] !== LF) return encoder.encode("\n");
  return new Uint8Array();
}

/**
 * The bytes appended for one message (LF line ends). The message is copied byte for byte,
 * as mail.local(8) copies it: 8-bit mail is not text in any one charset, so lines are
 * found and quoted as bytes, never decoded.
 */
export function formatMboxEntry(content: Uint8Array, delivery: MboxDelivery): Uint8Array {
  const sender = delivery.sender === "" ? "MAILER-DAEMON" : delivery.sender;
  const head = [`From ${sender} ${asctime(delivery.now ?? new Date())}`];
  head.push(`Return-Path: <${delivery.sender}>`);
  if (delivery.deliveredTo !== undefined) head.push(`Delivered-To: ${delivery.deliveredTo}`);
  const headBytes = encoder.encode(head.join("\n") + "\n");
  // Each line gets at most one `>` and one LF it lacked (the last); one blank line ends it.
  let quoted = 0;
  forEachLine(content, (start, end) => {
    if (isFromLine(content, start, end)) quoted++;
  });
  const out = new Uint8Array(headBytes.byteLength + content.byteLength + quoted + 2);
  out.set(headBytes);
  let written = headBytes.byteLength;
  forEachLine(content, (start, end) => {
    if (isFromLine(content, start, end)) out[written++] = GT;
    out.set(content.subarray(start, end), written);
    written += end - start;
    out[written++] = LF;
  });
  out[written++] = LF;
  return out.subarray(0, written);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DEAD_WRITE_START_REGEXP = /^\n{0,2}From /;
const CR = 0x0d;
const LF = 0x0a;
const GT = 0x3e;
const FROM_ = encoder.encode("From ");

// Calls `line` with the bounds of each line without its line end (LF or CRLF); a last
// line without one counts, an empty end after the last line end does not.
function forEachLine(content: Uint8Array, line: (start: number, end: number) => void): void {
  let start = 0;
  while (start < content.byteLength) {
    const lf = indexOfByte(content, LF, start);
    const next = lf === -1 ? content.byteLength : lf + 1;
    let end = lf === -1 ? content.byteLength : lf;
    if (end > start && content[end - 1] === CR) end--;
    line(start, end);
    start = next;
  }
}

// mboxrd: a line that is `From ` after any number of `>` gets one more `>`.
function isFromLine(content: Uint8Array, start: number, end: number): boolean {
  let at = start;
  while (at < end && content[at] === GT) at++;
  if (end - at < FROM_.byteLength) return false;
  for (let i = 0; i < FROM_.byteLength; i++) if (content[at + i] !== FROM_[i]) return false;
  return true;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// ctime(3) layout, in UTC: `Wed Nov 25 05:38:26 2026`.
function asctime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
