// The login name of a local uid, from the password file, as OpenSMTPD's enqueuer takes it.

import { parsePasswd } from "../tables/mod.ts";

/** The name of the account with that uid, or undefined when the password file has none. */
export function loginNameOf(uid: number, passwdPath = "/etc/passwd"): string | undefined {
  try {
    for (const user of parsePasswd(Deno.readTextFileSync(passwdPath)).values()) {
      if (user.uid === uid) return user.name;
    }
  } catch {
    // An unreadable password file names nobody.
  }
  return undefined;
}
