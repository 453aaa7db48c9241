// The exit status of every command, in one table: sysexits(3)'s codes under their
// <sysexits.h> names (which cron, mailx, PHP and OpenSMTPD's own commands read), plus 0 and 1.

/**
 * Exit statuses by name. `EX.TEMPFAIL` is `EX_TEMPFAIL` of <sysexits.h>; `OK` and `FAILURE`
 * are `EXIT_SUCCESS` and `EXIT_FAILURE`, which smtpd(8) and smtpctl(8) exit with.
 *
 * @example
 * ```ts
 * import { EX } from "./sysexits.ts";
 * console.assert(EX.TEMPFAIL === 75);
 * ```
 */
export const EX = {
  /** Success. */
  OK: 0,
  /** Any other failure (a configuration that does not load, a daemon that cannot start). */
  FAILURE: 1,
  /** The command was used wrongly: an unknown flag, a missing argument. */
  USAGE: 64,
  /** The input data was incorrect. */
  DATAERR: 65,
  /** An input file did not exist or was not readable. */
  NOINPUT: 66,
  /** The addressee is unknown. */
  NOUSER: 67,
  /** The host name is unknown. */
  NOHOST: 68,
  /** A service is unavailable. */
  UNAVAILABLE: 69,
  /** An internal software error. */
  SOFTWARE: 70,
  /** An operating system error (cannot fork, out of memory); worth another try. */
  OSERR: 71,
  /** A system file is missing or wrong. */
  OSFILE: 72,
  /** An output file cannot be created. */
  CANTCREAT: 73,
  /** An error while reading or writing a file. */
  IOERR: 74,
  /** A temporary failure: the caller should try again later. */
  TEMPFAIL: 75,
  /** The remote end broke the protocol. */
  PROTOCOL: 76,
  /** Permission denied. */
  NOPERM: 77,
  /** A configuration error. */
  CONFIG: 78,
} as const;

/** One of the statuses in {@link EX}. */
export type ExitCode = typeof EX[keyof typeof EX];
