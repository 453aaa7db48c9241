// Whether the home a relative maildir path is under exists. The router asks first, where
// it may look; the mailbox writer, running as the user, asks again before it makes the
// Maildir, since the unprivileged SMTP front may not look into users' homes.

/** A Maildir under a user's home: whose, the home, and the relative path it was given. */
export interface HomeMaildir {
  readonly user: string;
  readonly home: string;
  readonly path: string;
}

/**
 * Why there is no Maildir under `at.home` (it is missing or not a directory), or
 * undefined when there is one or this process may not look.
 */
export async function missingHomeRefusal(at: HomeMaildir): Promise<string | undefined> {
  if (await isDirectory(at.home) !== false) return undefined;
  const home = at.home === "" ? "no home directory" : `no home directory "${at.home}"`;
  return `user "${at.user}" has ${home} for maildir "${at.path}"`;
}

// Undefined when this process may not look: the unprivileged SMTP front has no read
// access to users' homes (by its Deno flags or the home's modes).
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
