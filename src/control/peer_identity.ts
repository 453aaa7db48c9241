// Who is on the other end of the daemon's socket. Deno 2.9 does not expose SO_PEERCRED, so
// the client proves its uid the way the kernel already vouches for the offline files: it
// creates a file named by the daemon's one-time challenge in the offline directory, and the
// file's owner, set by the kernel, is the peer's uid.

/** The proof file's name for a challenge (a dot name: the offline pickup skips it). */
export function proofName(challenge: string): string {
  return `.proof-${challenge}`;
}

/** The client's side: creates the proof file (removed by the daemon, or by {@link removeProof}). */
export async function writeProof(dir: string, challenge: string): Promise<string> {
  if (!/^[0-9a-f]{32}$/.test(challenge)) throw new Error("the daemon's challenge is malformed");
  const path = `${dir}/${proofName(challenge)}`;
  // The directory is set-group-ID: the file's group is the daemon's, which reads it back.
  await Deno.writeTextFile(path, challenge, { createNew: true, mode: 0o640 });
  await Deno.chmod(path, 0o640); // Whatever the umask took away.
  return path;
}

/** Removes a proof file the daemon did not (it is gone already when the daemon did). */
export async function removeProof(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/**
 * The daemon's side: the uid that owns the proof of `challenge`, and the proof removed.
 * A link, a file with other links (a hard link to another user's file), or one that does
 * not hold the challenge proves nothing and is refused.
 */
export async function verifyProof(dir: string, challenge: string): Promise<number> {
  const path = `${dir}/${proofName(challenge)}`;
  try {
    const info = await Deno.lstat(path).catch(() => {
      throw new Error("no proof of identity was written");
    });
    if (!info.isFile) throw new Error("the proof of identity is not a regular file");
    // A hard link to someone else's file would carry that owner: a proof has one link.
    if (info.nlink !== 1) throw new Error("the proof of identity has other links");
    const file = await Deno.open(path, { read: true });
    try {
      const opened = await file.stat();
      // The name could have been swapped for a link between lstat and open.
      if (opened.ino !== info.ino || opened.dev !== info.dev) {
        throw new Error("the proof of identity changed while it was read");
      }
      const content = new Uint8Array(64);
      const n = (await file.read(content)) ?? 0;
      if (new TextDecoder().decode(content.subarray(0, n)) !== challenge) {
        throw new Error("the proof of identity does not hold the challenge");
      }
      if (info.uid === null) throw new Error("this system gives files no owner");
      return info.uid;
    } finally {
      file.close();
    }
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
