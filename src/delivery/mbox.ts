// mbox delivery, as mail.local(8) does it: a `From ` separator line, `>From ` quoting
// (mboxrd: `>From `, `>>From `, …), a blank line after the message, and the two locks
// other mail programs respect — a `NAME.lock` dot-lock and an advisory flock(2). A write
// that fails halfway is cut back, so the mailbox never keeps half a message.

import { indexOfByte } from "../mail/mod.ts";
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

const STALE_LOCK_MS = 5 * 60 * 1000;

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
  const release = await dotLock(`${path}.lock`, delivery.lockTimeoutMs ?? 30_000);
  try {
    const file = delivery.namedFile
      ? await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 })
      : await openMbox(path);
    try {
      await file.lock(true);
      const size = await file.seek(0, Deno.SeekMode.End);
      try {
        let offset = 0;
        while (offset < data.byteLength) offset += await file.write(data.subarray(offset));
        await file.syncData();
      } catch (error) {
        // Cut the mailbox back to where it was: no half message for the reader.
        await file.truncate(size).catch(() => {});
        throw error;
      }
    } finally {
      file.close();
    }
  } finally {
    await release();
  }
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

// A dot-lock made with O_EXCL, as lockspool(1) and mutt make it; a lock older than five
// minutes is a leftover of a crash and is taken over. In a spool only root may write (the
// daemon created the mailbox for its user), no one else can make a dot-lock either: the
// flock(2) lock alone guards the mailbox there.
async function dotLock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      file.close();
      return () => Deno.remove(path).catch(() => {});
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied && !(await spoolWritable(path))) {
        return () => Promise.resolve();
      }
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    try {
      const info = await Deno.stat(path);
      if (info.mtime && Date.now() - info.mtime.getTime() > STALE_LOCK_MS) {
        await Deno.remove(path).catch(() => {});
        continue;
      }
    } catch {
      continue; // Removed meanwhile: try again at once.
    }
    if (Date.now() >= deadline) throw new Error(`mailbox is locked: ${path} exists`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Whether the lock's directory could be written by anyone but root: if so, a refused
// dot-lock is a real error, not the root-only spool.
async function spoolWritable(lockPath: string): Promise<boolean> {
  const dir = lockPath.slice(0, lockPath.lastIndexOf("/")) || "/";
  try {
    return ((await Deno.stat(dir)).mode ?? 0) & 0o022 ? true : false;
  } catch {
    return true;
  }
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
