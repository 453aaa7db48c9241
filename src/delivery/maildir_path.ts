// Where a `maildir [path]` action delivers for one user. OpenSMTPD runs every delivery
// from the user's home directory (forkmda: chdir(pw_dir)), so a relative path is under
// that home, as `~/` is; a user without a home gets no Maildir rather than a shared one.

import { join } from "node:path";
import type { DeliveryUser } from "./expand.ts";
import { expandFormat, type FormatVars, needsDirectory } from "./format.ts";
import { type HomeMaildir, missingHomeRefusal } from "./maildir_home.ts";

/**
 * The Maildir to deliver into — with, for a relative path, the home it is under, which
 * the mailbox writer checks again — or why there is none (a permanent failure).
 */
export type MaildirPath =
  | { readonly dir: string; readonly home?: HomeMaildir }
  | { readonly refusal: string };

/**
 * Expands the action's path for the recipient; a relative result is taken from the home of
 * `identity`, the account the delivery runs as.
 */
export async function maildirPathFor(
  template: string | undefined,
  vars: FormatVars,
  identity: DeliveryUser,
): Promise<MaildirPath> {
  const path = template ?? "~/Maildir";
  if (needsDirectory(path) && vars.directory === "") {
    return { refusal: `user "${vars.username}" has no home directory` };
  }
  const dir = expandFormat(path, vars, { path: true });
  if (dir.startsWith("/")) return { dir };
  // OpenSMTPD falls back to "/" when the home is missing; one Maildir for such users
  // would mix their mail, so the delivery is refused instead. This process may not be
  // able to look (the unprivileged front): then the writer, as the user, refuses it.
  const home = { user: identity.name, home: identity.home, path: dir };
  const refusal = await missingHomeRefusal(home);
  if (refusal !== undefined) return { refusal };
  return { dir: join(identity.home, dir), home };
}
