// Where credentials come from: a credentials table (`auth <table>`), or the system's
// accounts in /etc/shadow (`auth` alone). Both end in one check of a crypt(3) hash.

import { type Table, withTableLookups } from "../tables/mod.ts";
import { checkPassword, type PasswordCheck } from "./passwords.ts";
import { errorMessage } from "../mail/mod.ts";

/** Checks a user name and password; never throws. */
export type Authenticator = (user: string, password: string) => Promise<PasswordCheck>;

/**
 * Credentials from a table: `user hash` entries, or `name:hash` (from SQL, Redis and LDAP
 * tables, or a file's `user name:hash`). As OpenSMTPD's table_parse_lookup, the hash is
 * what follows the first `:` (crypt(3) hashes hold none), and the name is not compared
 * with the login: the row was found by the login, its name may be spelled otherwise.
 */
export function tableAuthenticator(table: Table): Authenticator {
  return async (user, password) => {
    try {
      // A table answered by a server waits for it here.
      const value = await withTableLookups(() => table.lookup("credentials", user));
      if (value === undefined) return { ok: false, reason: "unknown user" };
      // Without a ':' (indexOf -1) the whole value is the hash.
      return checkPassword(value.slice(value.indexOf(":") + 1), password);
    } catch (error) {
      // Not a wrong password: the client may try again (RFC 4954 §6, 454).
      return {
        ok: false,
        reason: `credentials lookup failed: ${errorMessage(error)}`,
        temporary: true,
      };
    }
  };
}

/** System accounts from a shadow(5) file (readable by root only). */
export function systemAuthenticator(path = "/etc/shadow"): Authenticator {
  return async (user, password) => {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      return {
        ok: false,
        reason: `cannot read ${path}: ${errorMessage(error)}`,
      };
    }
    for (const line of text.split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user) return checkPassword(fields[1] ?? "", password);
    }
    return { ok: false, reason: "unknown user" };
  };
}
