// Where credentials come from: a credentials table (`auth <table>`), or the system's
// accounts in /etc/shadow (`auth` alone). Both end in one check of a crypt(3) hash.

import type { Table } from "../tables/mod.ts";
import { checkPassword, type PasswordCheck } from "./passwords.ts";
import { errorMessage } from "../mail/mod.ts";

/** Checks a user name and password; never throws. */
export type Authenticator = (user: string, password: string) => Promise<PasswordCheck>;

/** Credentials from a table: `user hash` entries (or `user:hash` from SQL tables). */
export function tableAuthenticator(table: Table): Authenticator {
  return (user, password) => {
    try {
      const value = table.lookup("credentials", user);
      if (value === undefined) return Promise.resolve({ ok: false, reason: "unknown user" });
      const hash = value.startsWith(`${user}:`) ? value.slice(user.length + 1) : value;
      return Promise.resolve(checkPassword(hash, password));
    } catch (error) {
      return Promise.resolve({ ok: false, reason: `credentials lookup failed: ${error}` });
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
