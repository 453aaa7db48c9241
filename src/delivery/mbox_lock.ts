// The `NAME.lock` dot-lock held around an mbox append. Once the writer holds the mailbox's
// flock(2) lock too, the dot-lock holds `PID SIZE INODE`: the mailbox before the append, so
// whoever finds the lock of a writer that died midway can cut its half message off. The
// appending itself, and the order of the two unlocks it relies on, are mbox.ts's.

/** What a dead writer's lock says to cut the mailbox back to, and how it looked then. */
export interface MboxCutBack {
  /** The mailbox's inode, which must still be the file the dead writer appended to. */
  readonly ino: number;
  /** The size before the dead writer's append. */
  readonly size: number;
  /** The size seen when its lock was broken: anything appended since forbids the cut. */
  readonly seenSize: number;
}

/** A held dot-lock. */
export interface MboxLock {
  /** Set when a dead writer's lock was broken to take this one. */
  readonly cutBack: MboxCutBack | undefined;
  /** Notes the mailbox's size before the append, for the next writer should this one die. */
  record(size: number, ino: number): Promise<void>;
  release(): Promise<void>;
}

// liblockfile (dotlockfile) and OpenBSD's mail.local both take a lock older than five
// minutes for a crash's leftover.
const STALE_LOCK_MS = 5 * 60 * 1000;
// Enough for `PID SIZE INODE`; a longer lock file is not one of ours.
const LOCK_TEXT_MAX = 64;
const LOCK_TEXT_REGEXP = /^([0-9]+)(?: ([0-9]+) ([0-9]+))?\n?$/;

// In a spool only root may write (the daemon created the mailbox for its user), no one else
// can make a dot-lock either: the flock(2) lock alone guards the mailbox there.
const NO_LOCK: MboxLock = {
  cutBack: undefined,
  record: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

/**
 * Takes `MAILBOX.lock`, made with O_EXCL as lockspool(1) and mutt make it, waiting up to
 * `timeoutMs` for another program's. A lock older than five minutes is broken, and so is
 * one of ours at once when its writer is dead (see breakDeadWritersLock()).
 */
export async function lockMbox(mailboxPath: string, timeoutMs: number): Promise<MboxLock> {
  const path = `${mailboxPath}.lock`;
  const deadline = Date.now() + timeoutMs;
  let cutBack: MboxCutBack | undefined;
  while (true) {
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied && !(await spoolWritable(path))) {
        return NO_LOCK;
      }
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if (file) return await heldLock(path, file, cutBack);
    // A cut-back belongs to the lock just broken; someone else took the lock since.
    cutBack = undefined;
    const broken = await breakStaleLock(path, mailboxPath);
    if (broken) {
      cutBack = broken.cutBack;
      continue;
    }
    if (Date.now() >= deadline) throw new Error(`mailbox is locked: ${path} exists`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function heldLock(
  path: string,
  file: Deno.FsFile,
  cutBack: MboxCutBack | undefined,
): Promise<MboxLock> {
  let ino: number | null;
  try {
    ino = (await file.stat()).ino;
    await writeLockText(file, `${Deno.pid}\n`);
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  return {
    cutBack,
    record: (size, mailboxIno) => writeLockText(file, `${Deno.pid} ${size} ${mailboxIno}\n`),
    release: async () => {
      file.close();
      // Broken by someone as too old, it may be another writer's lock by now.
      const now = await Deno.lstat(path).catch(() => undefined);
      if (now && now.ino === ino) await Deno.remove(path).catch(() => {});
    },
  };
}

async function writeLockText(file: Deno.FsFile, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  await file.seek(0, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < bytes.byteLength) offset += await file.write(bytes.subarray(offset));
  await file.truncate(bytes.byteLength);
}

type Broken = { readonly cutBack: MboxCutBack | undefined };

// Removes the lock at `path` if it is stale; undefined when it is held. A lock that went
// meanwhile counts as broken: the caller tries again at once.
async function breakStaleLock(path: string, mailboxPath: string): Promise<Broken | undefined> {
  let judged: Deno.FileInfo;
  try {
    judged = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { cutBack: undefined };
    throw error;
  }
  const dead = await breakDeadWritersLock(path, mailboxPath);
  if (dead) return dead;
  if (judged.mtime === null || Date.now() - judged.mtime.getTime() <= STALE_LOCK_MS) {
    return undefined;
  }
  // Remove only the lock judged, not one another writer made after breaking it first.
  const now = await Deno.lstat(path).catch(() => undefined);
  if (now && now.ino === judged.ino && now.mtime?.getTime() === judged.mtime.getTime()) {
    await Deno.remove(path).catch(() => {});
  }
  return { cutBack: undefined };
}

// Our writers write the record while they hold the mailbox's flock, and remove their
// dot-lock before they let the flock go. So a record read while we hold that flock is a dead
// writer's: its process is gone (the kernel dropped its flock) and its lock stayed. This
// needs no pid, which the writer's sandbox could not look up, and a reused pid cannot fool it.
async function breakDeadWritersLock(
  path: string,
  mailboxPath: string,
): Promise<Broken | undefined> {
  const holder = parseLockText(await readLockText(path));
  if (holder?.size === undefined) return undefined;
  const named = await Deno.lstat(mailboxPath).catch(() => undefined);
  if (!named?.isFile || named.ino !== holder.ino) return undefined;
  const mailbox = await Deno.open(mailboxPath, { read: true }).catch(() => undefined);
  if (!mailbox) return undefined;
  try {
    if (!(await mailbox.tryLock(true))) return undefined; // Its writer is appending.
    const record = parseLockText(await readLockText(path).catch(() => ""));
    if (record?.size !== holder.size || record.ino !== holder.ino) return { cutBack: undefined };
    const open = await mailbox.stat();
    await Deno.remove(path).catch(() => {});
    if (open.ino !== holder.ino || open.size <= holder.size) return { cutBack: undefined };
    return { cutBack: { ino: holder.ino, size: holder.size, seenSize: open.size } };
  } finally {
    mailbox.close();
  }
}

// Another user's lock may not be readable: its content then tells nothing.
async function readLockText(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) return "";
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
  try {
    const buffer = new Uint8Array(LOCK_TEXT_MAX + 1);
    const read = (await file.read(buffer)) ?? 0;
    return new TextDecoder().decode(buffer.subarray(0, read));
  } finally {
    file.close();
  }
}

interface LockHolder {
  readonly pid: number;
  readonly size?: number;
  readonly ino?: number;
}

// `PID` (dotlockfile -p) or ours, `PID SIZE INODE`; mutt's and mail.local's are empty.
function parseLockText(text: string): LockHolder | undefined {
  const match = LOCK_TEXT_REGEXP.exec(text);
  if (!match) return undefined;
  const pid = Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  if (match[2] === undefined || match[3] === undefined) return { pid };
  return { pid, size: Number(match[2]), ino: Number(match[3]) };
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
