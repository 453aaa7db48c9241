// Where local submission meets the daemon: the offline drop directory beside the queue
// (world-writable, sticky, as OpenSMTPD's offline/) and the daemon's socket inside it.
// The queue itself stays private (0700); only this directory is public.

/**
 * The mode of the offline directory: anyone may drop a file, only its owner (and the
 * daemon, the directory's owner) remove it (sticky, as OpenSMTPD's 1777); set-group-ID
 * too, so each file takes the daemon's group and a 0640 file is readable by the daemon
 * even when it does not run as root, and by no other user.
 */
export const OFFLINE_DIR_MODE = 0o3777;
/** The mode of the daemon's socket: every local user may connect, as to smtpd.sock. */
export const SOCKET_MODE = 0o666;
/** The socket's name in the offline directory. */
export const SOCKET_NAME = "smtpd.sock";

/**
 * The offline directory of a queue: `$SMTPD_OFFLINE_DIR`, else `QUEUE-offline` beside it
 * (`/var/spool/smtpd-offline` for the default queue).
 *
 * @example
 * ```ts
 * import { offlineDirectory } from "./paths.ts";
 * if (!Deno.env.get("SMTPD_OFFLINE_DIR")) {
 *   console.assert(offlineDirectory("/var/spool/smtpd/") === "/var/spool/smtpd-offline");
 * }
 * ```
 */
export function offlineDirectory(queueDir: string): string {
  const fromEnv = readEnv("SMTPD_OFFLINE_DIR");
  if (fromEnv) return fromEnv;
  const trimmed = queueDir.replace(/\/+$/, "") || "/";
  return `${trimmed}-offline`;
}

/** The daemon's socket: `smtpd.sock` in the offline directory. */
export function controlSocketPath(offlineDir: string): string {
  return `${offlineDir}/${SOCKET_NAME}`;
}

/** Where the daemon keeps the offline files it could not queue: inside the private queue. */
export function offlineAsideDirectory(queueDir: string): string {
  return `${queueDir.replace(/\/+$/, "")}/offline-aside`;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    // Without --allow-env for it, the default applies.
    return undefined;
  }
}
