// Who may steer the daemon, and the other name of its socket. smtpctl(8): the privileged
// commands are root's; `control group NAME` adds a group's members, and a daemon that
// runs as a user of its own answers that user too. The socket itself stays where the
// proof of identity works (the offline directory); as root the daemon also names it as
// OpenSMTPD does, /var/run/smtpd.sock, or where `control socket PATH` says, by a link.

import { errorMessage } from "../mail/mod.ts";
import { parsePasswd } from "../tables/mod.ts";

/** OpenSMTPD's SMTPD_SOCKET: the socket's name for the system's daemon. */
export const SYSTEM_SOCKET_PATH = "/var/run/smtpd.sock";

/** What decides the socket's other name. */
export interface SocketNameOptions {
  /** `control socket PATH`. */
  readonly configured?: string;
  /** The daemon's queue, and the default one (the system daemon's). */
  readonly queueDir: string;
  readonly defaultQueueDir: string;
  /** The daemon was started as root. */
  readonly root: boolean;
}

/**
 * The name the daemon gives its socket besides its place in the offline directory:
 * `control socket PATH`; else, for the system's daemon (root, the default queue),
 * /var/run/smtpd.sock; else none — a daemon of another queue keeps to its own directory,
 * so two daemons on one machine never fight over one name.
 *
 * @example
 * ```ts
 * import { controlSocketName } from "./control_access.ts";
 * const system = { queueDir: "/var/spool/smtpd", defaultQueueDir: "/var/spool/smtpd" };
 * console.assert(controlSocketName({ ...system, root: true }) === "/var/run/smtpd.sock");
 * console.assert(controlSocketName({ ...system, root: false }) === undefined);
 * ```
 */
export function controlSocketName(options: SocketNameOptions): string | undefined {
  if (options.configured !== undefined) return options.configured;
  const trim = (p: string) => p.replace(/\/+$/, "") || "/";
  const systemQueue = trim(options.queueDir) === trim(options.defaultQueueDir);
  return options.root && systemQueue ? SYSTEM_SOCKET_PATH : undefined;
}

/**
 * Names `socket` as `name` with a symbolic link (a stale link or socket there is
 * replaced; anything else is left alone, and refused); resolves with what removes it.
 */
export async function nameControlSocket(
  name: string,
  socket: string,
): Promise<() => Promise<void>> {
  const existing = await Deno.lstat(name).catch(() => undefined);
  if (existing) {
    if (!existing.isSymlink && !existing.isSocket) {
      throw new Error(`${name} exists and is not a socket or a link: left alone`);
    }
    await Deno.remove(name);
  }
  await Deno.symlink(socket, name);
  return async () => {
    // Only the link made here: another daemon may have named its socket so since.
    if ((await Deno.readLink(name).catch(() => undefined)) === socket) {
      await Deno.remove(name).catch(() => {});
    }
  };
}

/** Files the accounts are read from (tests name others). */
export interface AccountFiles {
  readonly passwd?: string;
  readonly group?: string;
}

/**
 * The check of a peer's uid before a privileged command: root, the daemon's own user,
 * or — with `group` — an account whose primary group it is or that it lists as a member
 * (read from the files at each check, so a change to the group counts at once).
 */
export function privilegedPeers(
  options: { readonly daemonUid: number; readonly group?: string; readonly files?: AccountFiles },
): (uid: number) => boolean {
  const { daemonUid, group } = options;
  return (uid) => {
    if (uid === 0 || uid === daemonUid) return true;
    return group !== undefined && isGroupMember(uid, group, options.files);
  };
}

/** Whether the account of `uid` belongs to `group` (a name, or a number for a gid). */
export function isGroupMember(uid: number, group: string, files: AccountFiles = {}): boolean {
  try {
    const users = parsePasswd(Deno.readTextFileSync(files.passwd ?? "/etc/passwd"));
    const user = [...users.values()].find((u) => u.uid === uid);
    if (!user) return false;
    const found = findGroup(Deno.readTextFileSync(files.group ?? "/etc/group"), group);
    if (!found) return /^\d+$/.test(group) && user.gid === Number(group);
    return user.gid === found.gid || found.members.includes(user.name);
  } catch (error) {
    throw new Error(`cannot read the accounts: ${errorMessage(error)}`);
  }
}

// group(5): `name:password:GID:member,member`.
function findGroup(text: string, group: string): { gid: number; members: string[] } | undefined {
  for (const line of text.split("\n")) {
    const [name, , gid, members = ""] = line.split(":");
    if (name === undefined || gid === undefined || !/^\d+$/.test(gid)) continue;
    if (name === group || gid === group) {
      return { gid: Number(gid), members: members.split(",").map((m) => m.trim()).filter(Boolean) };
    }
  }
  return undefined;
}
