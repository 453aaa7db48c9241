// The daemon's pid file: where it goes (/var/run/smtpd.pid for root, beside the queue
// otherwise), one daemon per file (a live pid refuses the start, a dead one is replaced),
// and removed when the daemon stops cleanly.

/** The variable that moves the pid file (tests, or a second daemon on one machine). */
export const PID_FILE_VARIABLE = "SMTPD_PIDFILE";

/** Where the system's daemon writes its pid. */
export const SYSTEM_PID_FILE = "/var/run/smtpd.pid";

/** The pid file: $SMTPD_PIDFILE, else /var/run/smtpd.pid as root, else beside the queue. */
export function pidFilePath(queueDir: string, isRoot: boolean): string {
  const fromEnv = Deno.env.get(PID_FILE_VARIABLE);
  if (fromEnv) return fromEnv;
  return isRoot ? SYSTEM_PID_FILE : `${queueDir}/smtpd.pid`;
}

/** A daemon already runs with this pid file. */
export class DaemonRunningError extends Error {
  readonly pid: number;
  constructor(path: string, pid: number) {
    super(`another smtpd (pid ${pid}) is running: ${path} names it; stop it first`);
    this.name = "DaemonRunningError";
    this.pid = pid;
  }
}

/** The pid a pid file names, if it names a process that is alive. */
export function livePid(path: string): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return processAlive(pid) ? pid : undefined;
}

/** Refuses when a live daemon holds the file (a stale one is left to be replaced). */
export function checkPidFile(path: string): void {
  const pid = livePid(path);
  if (pid !== undefined && pid !== Deno.pid) throw new DaemonRunningError(path, pid);
}

/**
 * Writes this process's pid (replacing a stale file) and returns the function that removes
 * it again, only while it still names this process.
 */
export function writePidFile(path: string): () => void {
  checkPidFile(path);
  // Written beside and renamed into place, so a reader never sees half a number.
  const temporary = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(temporary, `${Deno.pid}\n`, { mode: 0o644 });
  Deno.renameSync(temporary, path);
  return () => {
    try {
      if (Deno.readTextFileSync(path).trim() === String(Deno.pid)) Deno.removeSync(path);
    } catch {
      // Already gone, or replaced by another daemon's.
    }
  };
}

// /proc/PID exists while the process does (Linux); where /proc cannot be read, a signal
// the process ignores by default tells the same. When neither can be asked, the process
// is taken to be alive: refusing to start is better than two daemons on one queue.
function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie has exited: its pid file is stale.
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
  }
  try {
    Deno.kill(pid, "SIGURG");
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}
