// How a root daemon's per-user writer gets into the system mail spool, as Debian's
// mail.local and dotlockfile do: a spool writable by a group (Debian: /var/mail root:mail
// 2775) is entered with that group; a spool only root may write has the mailbox created
// by the daemon for its user (as OpenSMTPD's parent does) before the user's writer appends.

import type { DeliveryUser } from "./expand.ts";
import type { MailboxRequest } from "./mailbox_request.ts";

/** The system mail spool: $SMTPD_MAIL_SPOOL, else /var/mail. */
export function systemMailSpool(): string {
  return Deno.env.get("SMTPD_MAIL_SPOOL") || "/var/mail";
}

/** Whether a write is to the user's own mailbox in the spool (which spoolWriter() enters). */
export function isSpoolMailbox(
  request: MailboxRequest,
  user: DeliveryUser,
  spool: string,
): boolean {
  return request.kind === "mbox" && request.path === `${spool}/${user.name}`;
}

/**
 * The identity the user's writer appends to `path` (a mailbox in `spool`) with: the user,
 * with the spool's group where the spool is writable by its group only (the user's own
 * group kept as its real one, see mailbox_writer.ts). Where neither
 * the user, the group nor everyone may write the spool, the mailbox is created here (this
 * process is root), owned by the user, mode 0600.
 */
export async function spoolWriter(
  user: DeliveryUser,
  spool: string,
  path: string,
): Promise<DeliveryUser> {
  const info = await Deno.stat(spool);
  const mode = info.mode ?? 0;
  if (info.uid === user.uid || (mode & 0o002) !== 0) return user;
  if ((mode & 0o020) !== 0 && info.gid !== null) {
    return info.gid === user.gid ? user : { ...user, gid: info.gid, realGid: user.gid };
  }
  await createMailbox(path, user);
  return user;
}

// O_CREAT|O_EXCL never follows a link; an existing entry must be the user's own file.
async function createMailbox(path: string, user: DeliveryUser): Promise<void> {
  try {
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    file.close();
    await Deno.chown(path, user.uid, user.gid);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const existing = await Deno.lstat(path);
  if (!existing.isFile || existing.uid !== user.uid) {
    throw new Error(`${path} is not a regular file owned by ${user.name}: not delivered into`);
  }
}
