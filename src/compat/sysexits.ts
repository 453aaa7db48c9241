// sysexits(3): the exit codes mail programs agree on. cron, mailx and PHP read them.
export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;
