// System users, as getpwnam(3) would give them: read from /etc/passwd (the path is an
// option so tests and chroots can point elsewhere).

/** A system account. */
export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** Parses passwd(5) text into users by name. */
export function parsePasswd(text: string): Map<string, SystemUser> {
  const users = new Map<string, SystemUser>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 7) continue;
    const [name, , uid, gid, , home, shell] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    users.set(name, { name, uid: Number(uid), gid: Number(gid), home, shell });
  }
  return users;
}

/** Looks users up in a passwd file, rereading it when it changes on disk. */
export function createUserLookup(
  path = "/etc/passwd",
): (name: string) => Promise<SystemUser | undefined> {
  let cached: { mtime: number; users: Map<string, SystemUser> } | undefined;
  let checkedAt = 0;
  // Lookups made while the file is being looked at wait for that one look, so lookups
  // started together (the recipients of one message) are answered together.
  let looking: Promise<void> | undefined;
  const look = async () => {
    const info = await Deno.stat(path);
    const mtime = info.mtime?.getTime() ?? 0;
    if (!cached || cached.mtime !== mtime) {
      cached = { mtime, users: parsePasswd(await Deno.readTextFile(path)) };
    }
  };
  return async (name) => {
    // The file is looked at no more than once a second: a delivery is not worth a stat.
    const now = Date.now();
    if (!looking && (!cached || now - checkedAt >= 1000)) {
      checkedAt = now;
      looking = look().finally(() => looking = undefined);
    }
    if (looking) await looking;
    return cached!.users.get(name);
  };
}

/**
 * A synchronous "does this account exist" check for the rules, over a passwd file that
 * is read again when it changes (looked at no more than once a second).
 */
export function createUserExists(path = "/etc/passwd"): (name: string) => boolean {
  let users = new Map<string, SystemUser>();
  let mtime = -1;
  let checkedAt = 0;
  const refresh = () => {
    const now = Date.now();
    if (now - checkedAt < 1000) return;
    checkedAt = now;
    try {
      const stat = Deno.statSync(path);
      const changed = stat.mtime?.getTime() ?? 0;
      if (changed !== mtime) {
        users = parsePasswd(Deno.readTextFileSync(path));
        mtime = changed;
      }
    } catch {
      // An unreadable passwd file keeps what was known.
    }
  };
  return (name) => {
    refresh();
    return users.has(name);
  };
}
