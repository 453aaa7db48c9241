// The queue belongs to the daemon: its directory is 0700 and every file in it 0600, owned
// by the queue's user. A start finds looser modes or another owner, fixes them and says so,
// or refuses with the reason when it cannot (not root, and the files are someone else's).

import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";

/** Who owns a queue. */
export interface QueueOwner {
  readonly uid: number;
  readonly gid: number;
}

/** Options of {@link secureQueueDirectory}. */
export interface SecureQueueOptions {
  /** The queue's user (default: this process). Changing the owner needs root. */
  readonly owner?: QueueOwner;
  /** Where each fix is reported. */
  readonly log?: Logger;
}

/** The mode of the queue directory. */
export const QUEUE_DIR_MODE = 0o700;
/** The mode of every file in the queue. */
export const QUEUE_FILE_MODE = 0o600;

/**
 * Creates the queue directory when it is missing and makes it, and everything in it,
 * belong to the queue's user alone: the directory 0700, the files in it 0600 (queue.sqlite,
 * its -wal and -shm, and anything else). An empty queue.sqlite is made at 0600 first, so the files
 * SQLite creates beside it (which take its mode) are born private. Unix sockets keep their
 * mode: the 0700 directory already keeps others out; directories in the queue keep theirs. Returns one line per fix, each also
 * logged; throws, naming the file and what to do, when a fix is not allowed.
 */
export async function secureQueueDirectory(
  dir: string,
  options: SecureQueueOptions = {},
): Promise<string[]> {
  const owner = options.owner ?? { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 };
  const existed = await Deno.lstat(dir).then(() => true, () => false);
  await Deno.mkdir(dir, { recursive: true, mode: QUEUE_DIR_MODE });
  try {
    await Deno.writeFile(`${dir}/queue.sqlite`, new Uint8Array(0), {
      createNew: true,
      mode: QUEUE_FILE_MODE,
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const fixes: string[] = [];
  await secureEntry(dir, true, owner, fixes);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) continue; // A directory of its own (offline drops) keeps its mode.
    await secureEntry(`${dir}/${entry.name}`, false, owner, fixes);
  }
  // A queue made just now was made right: only fixes of an older one are news.
  if (!existed) return [];
  for (const line of fixes) options.log?.warn(`queue: ${line}`);
  return fixes;
}

async function secureEntry(
  path: string,
  isDirectory: boolean,
  owner: QueueOwner,
  fixes: string[],
): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink) {
    throw new Error(`The queue holds a symbolic link, ${path}: remove it (the queue is private)`);
  }
  if (!info.isFile && !info.isDirectory) return; // A socket: the directory guards it.
  if (info.uid !== owner.uid || info.gid !== owner.gid) {
    try {
      await Deno.chown(path, owner.uid, owner.gid);
    } catch (error) {
      throw new Error(
        `The queue file ${path} belongs to uid ${info.uid}, not to the queue's user ` +
          `(uid ${owner.uid}), and cannot be given to it (${errorMessage(error)}): ` +
          `run chown -R ${owner.uid}:${owner.gid} on the queue directory`,
      );
    }
    fixes.push(`${path} belonged to ${info.uid}:${info.gid}: now ${owner.uid}:${owner.gid}`);
  }
  const want = isDirectory ? QUEUE_DIR_MODE : QUEUE_FILE_MODE;
  const mode = (info.mode ?? 0) & 0o7777;
  if (mode !== want) {
    try {
      await Deno.chmod(path, want);
    } catch (error) {
      throw new Error(
        `The queue's ${path} has mode ${octal(mode)} and cannot be made ${octal(want)}: ` +
          errorMessage(error),
      );
    }
    fixes.push(`${path} had mode ${octal(mode)}: now ${octal(want)}`);
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
