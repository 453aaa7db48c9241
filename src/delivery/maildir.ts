// Maildir delivery (maildir(5)): the message is written into tmp/, synced, then renamed
// into new/, so a reader never sees half a message. The file name carries the envelope
// id, which lets a delivery interrupted by a crash be recognised and not repeated.

import { indexOfByte } from "../mail/mod.ts";

/** What is added on top of the stored message. */
export interface MaildirDelivery {
  /** The envelope sender, for `Return-Path:`. */
  readonly returnPath: string;
  /** The recipient, for `Delivered-To:`. */
  readonly deliveredTo: string;
  /** The envelope id, part of the unique file name. */
  readonly evpid: string;
}

const SUBDIRS = ["tmp", "new", "cur"] as const;
const CR = 0x0d;
const LF = 0x0a;
const created = new Set<string>();
let hostname: string | undefined;

/** How {@link deliverToMaildir} makes its system calls. */
export interface MaildirWriteOptions {
  /**
   * Create, write, close and rename with blocking calls; only the fdatasync runs in the
   * runtime's threads. For a process that does nothing else (the mailbox writer): each
   * call handed to a thread costs it more system time than the call itself (the two
   * writers of a user at 20 sessions: 0.59-0.65 ms of system CPU a message, 0.79-0.92
   * with every call in a thread; bench/RESULTS.md).
   */
  readonly blocking?: boolean;
}

/** Writes a message into a Maildir (created when missing); resolves with the file path. */
export async function deliverToMaildir(
  dir: string,
  content: Uint8Array,
  delivery: MaildirDelivery,
  options: MaildirWriteOptions = {},
): Promise<string> {
  const blocking = options.blocking ?? false;
  await ensureMaildir(dir);
  const name = uniqueName(delivery.evpid);
  const tmp = `${dir}/tmp/${name}`;
  const data = maildirBytes(content, delivery);
  const file = await openNew(dir, tmp, blocking);
  try {
    if (blocking) writeAllSync(file, data);
    else await writeAll(file, data);
    await file.syncData();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  const final = `${dir}/new/${name}`;
  try {
    await remadeOnce(
      dir,
      blocking ? () => Deno.renameSync(tmp, final) : () => Deno.rename(tmp, final),
    );
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  return final;
}

function openNew(dir: string, path: string, blocking: boolean): Promise<Deno.FsFile> {
  const flags = { write: true, createNew: true, mode: 0o600 } as const;
  return remadeOnce(
    dir,
    blocking ? () => Deno.openSync(path, flags) : () => Deno.open(path, flags),
  );
}

// A Maildir made by this process may have been removed since (its owner cleaned up): a
// call that finds a directory missing makes it again once and is tried again, rather than
// every delivery failing until the process is replaced.
async function remadeOnce<T>(dir: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) || !created.delete(dir)) throw error;
    await ensureMaildir(dir);
    return await call();
  }
}

// Return-Path: and Delivered-To: then the message with LF line ends, in one buffer: one
// write per message.
function maildirBytes(content: Uint8Array, delivery: MaildirDelivery): Uint8Array {
  const header = new TextEncoder().encode(
    `Return-Path: <${delivery.returnPath}>\nDelivered-To: ${delivery.deliveredTo}\n`,
  );
  const body = toLf(content);
  const out = new Uint8Array(header.byteLength + body.byteLength);
  out.set(header);
  out.set(body, header.byteLength);
  return out;
}

/**
 * True when a message of this envelope is already in the Maildir (new/ or cur/): a
 * delivery that completed just before a crash, whose result never reached the queue.
 */
export async function isAlreadyDelivered(dir: string, evpid: string): Promise<boolean> {
  const marker = `Q${evpid}.`;
  for (const sub of ["new", "cur"]) {
    try {
      for await (const entry of Deno.readDir(`${dir}/${sub}`)) {
        if (entry.name.includes(marker)) return true;
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return false;
}

async function ensureMaildir(dir: string): Promise<void> {
  if (created.has(dir)) return;
  for (const sub of SUBDIRS) await Deno.mkdir(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
  created.add(dir);
}

// maildir(5): time.unique.host, with `/` and `:` of the host name escaped. The unique
// part names the process, the microsecond and the envelope (Q = delivery identifier).
function uniqueName(evpid: string): string {
  hostname ??= Deno.hostname().replaceAll("/", "\\057").replaceAll(":", "\\072");
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.M${micros % 1_000_000}P${Deno.pid}Q${evpid}.${hostname}`;
}

/** Maildir files, mboxes and MDAs get the local line end: CRLF becomes LF, byte for byte. */
export function toLf(content: Uint8Array): Uint8Array {
  let pos = crlfAt(content, 0);
  if (pos === -1) return content;
  const out = new Uint8Array(content.byteLength);
  let written = 0;
  let start = 0;
  while (pos !== -1) {
    out.set(content.subarray(start, pos), written);
    written += pos - start;
    out[written++] = LF;
    start = pos + 2;
    pos = crlfAt(content, start);
  }
  out.set(content.subarray(start), written);
  written += content.byteLength - start;
  return out.subarray(0, written);
}

// The next CR LF at or after `from`, found with the native one-byte search: a Buffer's
// indexOf with a two-byte needle runs a search in script (half the writer's time on a
// 100 KB message).
function crlfAt(bytes: Uint8Array, from: number): number {
  let lf = indexOfByte(bytes, LF, from + 1);
  while (lf !== -1 && bytes[lf - 1] !== CR) lf = indexOfByte(bytes, LF, lf + 1);
  return lf === -1 ? -1 : lf - 1;
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}
