// Opening an mbox to append to, as mail.local(8) opens it: a missing mailbox is created
// with O_CREAT|O_EXCL (never through a link); an existing one must be a regular file that
// is no link, has one name only and belongs to this process. In a spool anyone may write
// (1777) someone else could otherwise plant a link to the user's ~/.profile, or a file of
// their own they can read, under the user's name.

/** A mailbox refused by {@link openMbox}: the delivery is retried once it is fixed. */
export class MailboxRefusedError extends Error {
  constructor(path: string, why: string) {
    super(`Refusing mailbox "${path}": ${why}; the mail stays queued until it is fixed`);
    this.name = "MailboxRefusedError";
  }
}

// An entry swapped this many times while we open it is someone playing with the spool.
const OPEN_ATTEMPTS = 3;

/** Opens (or creates, mode 0600) the mbox at `path` for reading and appending. */
export async function openMbox(path: string): Promise<Deno.FsFile> {
  for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
    let named: Deno.FileInfo;
    try {
      named = await Deno.lstat(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      try {
        return await Deno.open(path, { read: true, write: true, createNew: true, mode: 0o600 });
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue; // Made meanwhile: look again.
        throw error;
      }
    }
    if (named.isSymlink) throw new MailboxRefusedError(path, "it is a symbolic link");
    if (!named.isFile) throw new MailboxRefusedError(path, "it is not a regular file");
    // Deno cannot open with O_NOFOLLOW: what holds is the check of the open file, and
    // that it is the very file the name was when it was looked at.
    const file = await Deno.open(path, { read: true, write: true });
    try {
      checkOpenMailbox(path, await file.stat(), named);
      return file;
    } catch (error) {
      file.close();
      throw error;
    }
  }
  throw new MailboxRefusedError(path, "it keeps being replaced while it is opened");
}

function checkOpenMailbox(path: string, open: Deno.FileInfo, named: Deno.FileInfo): void {
  if (open.dev !== named.dev || open.ino !== named.ino) {
    throw new MailboxRefusedError(path, "it was replaced while it was opened");
  }
  if (!open.isFile) throw new MailboxRefusedError(path, "it is not a regular file");
  if (open.nlink !== 1) {
    throw new MailboxRefusedError(path, `it is a linked file (${open.nlink} links)`);
  }
  // Deno.uid() needs --allow-sys=uid, and fails without it rather than skip the check.
  const uid = Deno.uid();
  if (uid !== null && open.uid !== uid) {
    throw new MailboxRefusedError(path, `wrong owner: uid ${open.uid}, not ${uid}`);
  }
}
