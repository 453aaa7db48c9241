// Where a `maildir [path]` action delivers for one user. OpenSMTPD runs every delivery
// from the user's home directory (forkmda: chdir(pw_dir)), so a relative path is under
// that home, as `~/` is; a user without a home gets no Maildir rather than a shared one.

import { join } from "node:path";
import type { DeliveryUser } from "./expand.ts";
import { expandFormat, type FormatVars, needsDirectory } from "./format.ts";

/** The Maildir to deliver into, or why there is none (a permanent failure). */
export type MaildirPath = { readonly dir: string } | { readonly refusal: string };

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
  // would mix their mail, so the delivery is refused instead.
  if (await isDirectory(identity.home) === false) {
    const home = identity.home === ""
      ? "no home directory"
      : `no home directory "${identity.home}"`;
    return { refusal: `user "${identity.name}" has ${home} for maildir "${dir}"` };
  }
  return { dir: join(identity.home, dir) };
}

// Undefined when this process may not look: the unprivileged SMTP front has no read
// access to users' homes (by its Deno flags or the home's modes). The mailbox writer,
// running as the user, then makes the Maildir under the home itself.
async function isDirectory(path: string): Promise<boolean | undefined> {
  if (!path.startsWith("/")) return false;
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error;
  }
}
