// The offline directory made and kept right by the daemon at start: a real directory
// (not a link), owned by the daemon's user, mode 1777; a stale socket in it removed.

import { errorMessage } from "../mail/mod.ts";
import { OFFLINE_DIR_MODE } from "./paths.ts";

/** Who owns the offline directory (the queue's user). */
export interface DirectoryOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Creates the offline directory when missing and gives it mode 1777 and the owner (the
 * owner can be changed by root only). Throws, with what to do, when it cannot be made
 * right: a symbolic link, a file, or another user's directory this process cannot take.
 */
export async function prepareOfflineDirectory(
  dir: string,
  owner: DirectoryOwner = { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 },
): Promise<string[]> {
  const fixes: string[] = [];
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new Error(`Cannot create the offline directory ${dir}: ${errorMessage(error)}`);
    }
  }
  const info = await Deno.lstat(dir);
  if (!info.isDirectory) {
    throw new Error(`The offline directory ${dir} is not a directory: remove it`);
  }
  if (info.uid !== owner.uid || info.gid !== owner.gid) {
    try {
      await Deno.chown(dir, owner.uid, owner.gid);
    } catch (error) {
      throw new Error(
        `The offline directory ${dir} belongs to uid ${info.uid}, not to the queue's user ` +
          `(uid ${owner.uid}): ${errorMessage(error)}; run chown ${owner.uid}:${owner.gid} ${dir}`,
      );
    }
    fixes.push(`${dir} belonged to ${info.uid}:${info.gid}: now ${owner.uid}:${owner.gid}`);
  }
  const mode = (info.mode ?? 0) & 0o7777;
  if (mode !== OFFLINE_DIR_MODE) {
    // Made with 0700 first and opened up here: the umask cannot take the sticky bit away.
    await Deno.chmod(dir, OFFLINE_DIR_MODE);
    if (info.uid === owner.uid && mode !== 0o700) {
      fixes.push(`${dir} had mode ${octal(mode)}: now ${octal(OFFLINE_DIR_MODE)}`);
    }
  }
  return fixes;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
