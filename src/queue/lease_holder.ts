// Who holds a lease: the name a process takes leases under (host:pid, and, where the
// system tells it, @ the second after boot it started, so that a reused pid is not taken
// for the holder), and whether the process a name stands for still runs, which only
// /proc tells (Linux). The leases themselves are sqlite_leases.ts's.

/** A lease owner's name, read back. */
export interface LeaseHolder {
  readonly host: string;
  readonly pid: number;
  /** When the process started, seconds after boot (rounded down), if the name says. */
  readonly startedAt?: number;
}

/**
 * Whether a holder still runs: "unknown" where /proc cannot be read (Deno grants it only
 * with every permission, which the SMTP front has not), and its lease then holds until
 * it ends.
 */
export type HolderState = "alive" | "gone" | "unknown";

// USER_HZ, the unit of /proc/PID/stat's start time: 100 on every Linux architecture.
const CLOCK_TICKS_PER_SECOND = 100;

// The start a name records is rounded down from the uptime's whole seconds and taken
// after the process began: the holder's own start is never more than this past it.
const START_SLACK_SECONDS = 3;

const OWNER_REGEXP = /^(.*):(\d+)(?:@(\d+))?$/;

// Two names of one process: the start second is reckoned from the uptime's whole seconds
// and the clock, so two reckonings may differ by one.
const NAME_START_JITTER_SECONDS = 1;

let ownName: string | undefined;

/**
 * This process's owner name: host:pid@start, or host:pid where the uptime is not granted.
 * It is reckoned once, so that every queue this process opens takes leases under one name.
 */
export function ownerName(): string {
  return ownName ??= reckonOwnerName();
}

/** Whether two names stand for one process: same host and pid, starts a second apart at most. */
export function sameProcess(a: LeaseHolder, b: LeaseHolder): boolean {
  if (a.host !== b.host || a.pid !== b.pid) return false;
  if (a.startedAt === undefined || b.startedAt === undefined) return a.startedAt === b.startedAt;
  return Math.abs(a.startedAt - b.startedAt) <= NAME_START_JITTER_SECONDS;
}

function reckonOwnerName(): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch {
    // Without --allow-sys the pid alone still tells processes of this host apart.
  }
  let start = "";
  try {
    start = `@${Math.max(0, Math.floor(Deno.osUptime() - performance.now() / 1000))}`;
  } catch {
    // Without --allow-sys=osUptime a reused pid is taken for the holder until the lease ends.
  }
  return `${host}:${Deno.pid}${start}`;
}

/** Reads an owner name back (host:pid or host:pid@start); undefined if it is neither. */
export function parseOwner(owner: string): LeaseHolder | undefined {
  const match = OWNER_REGEXP.exec(owner);
  if (!match) return undefined;
  const holder = { host: match[1]!, pid: Number(match[2]) };
  return match[3] === undefined ? holder : { ...holder, startedAt: Number(match[3]) };
}

/**
 * Whether the holder still runs, from /proc/PID/stat: gone when there is no such process,
 * it is a zombie, or (the name recording its start) the process by that pid started later.
 */
export function holderState(holder: LeaseHolder): HolderState {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return "gone";
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${holder.pid}/stat`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return "unknown";
    // No such process, as long as /proc can be read at all.
    try {
      Deno.readTextFileSync("/proc/self/stat");
      return "gone";
    } catch {
      return "unknown";
    }
  }
  // pid (comm) state ppid … starttime: the fields after the name, which may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return "gone";
  const ticks = Number(fields[19]);
  if (holder.startedAt !== undefined && Number.isFinite(ticks)) {
    if (ticks / CLOCK_TICKS_PER_SECOND > holder.startedAt + START_SLACK_SECONDS) return "gone";
  }
  return "alive";
}
