// Log lines in the spirit of OpenSMTPD's maillog: one line per event, `smtp-in:` /
// `delivery:` prefixes set by the callers; this file only decides where lines go.

/** Where the daemon's log lines go. */
export interface Logger {
  /** An event worth keeping (sessions, deliveries, errors). */
  info(line: string): void;
  /** Detail printed only with -v. */
  debug(line: string): void;
  /** Something went wrong that an operator should see. */
  warn(line: string): void;
  /**
   * A debug line written whatever the verbosity: `smtpctl trace` asked for it, or another
   * process (the SMTP front) already decided to write it.
   */
  trace?(line: string): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Print debug lines too. */
  readonly verbose?: boolean;
  /** Where lines are written; stderr by default. */
  readonly sink?: (line: string) => void;
}

const encoder = new TextEncoder();
let buffered: string[] = [];
let flushScheduled = false;

// Lines of one event-loop turn go out in one write: under load a message makes three
// lines, and a system call for each costs more than the rest of the logging. A warning
// is written at once, with whatever is pending before it.
function writeStderr(line: string, urgent = false): void {
  buffered.push(line);
  if (urgent || buffered.length >= 256) {
    flushLog();
  } else if (!flushScheduled) {
    flushScheduled = true;
    setTimeout(flushLog, 0);
  }
}

/**
 * The most a write to a pipe carries without another process's write in the middle
 * (POSIX PIPE_BUF, 4096 on Linux): the SMTP front may write to the same standard error.
 */
const ATOMIC_WRITE = 4096;

/** Writes the buffered lines now (also called before the process exits). */
export function flushLog(): void {
  flushScheduled = false;
  if (buffered.length === 0) return;
  const data = encoder.encode(buffered.join("\n") + "\n");
  buffered = [];
  let offset = 0;
  while (offset < data.byteLength) {
    offset += Deno.stderr.writeSync(data.subarray(offset, pieceEnd(data, offset)));
  }
}

// Where the write starting at `start` ends: after the last whole line that fits in one
// atomic write, or after a line longer than that.
function pieceEnd(data: Uint8Array, start: number): number {
  if (data.byteLength - start <= ATOMIC_WRITE) return data.byteLength;
  const cut = data.lastIndexOf(0x0a, start + ATOMIC_WRITE - 1);
  if (cut >= start) return cut + 1;
  const end = data.indexOf(0x0a, start + ATOMIC_WRITE);
  return end === -1 ? data.byteLength : end + 1;
}

/** A logger whose debug lines can be switched on and off while it runs (`smtpctl log`). */
export interface SwitchableLogger extends Logger {
  /** {@link Logger.trace}, always there. */
  trace(line: string): void;
  /** Prints debug lines from now on (`log verbose`), or stops (`log brief`). */
  setVerbose(on: boolean): void;
}

// The loggers that write text lines to this process's standard error (no sink given).
const stderrLoggers = new WeakSet<Logger>();

/**
 * True when `log` writes timestamped text lines to this process's standard error: another
 * process of the daemon may then write its own lines there itself, in the same format.
 */
export function writesTextToStderr(log: Logger): boolean {
  return stderrLoggers.has(log);
}

// The lines of one millisecond share one timestamp string: a session logs several lines
// in a turn, and formatting a date was 1.4% of the SMTP front's time at 20 sessions.
let stampedAt = Number.NaN;
let stampText = "";

/** The time now as an ISO 8601 string, formatted once per millisecond. */
export function isoNow(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stampText = new Date(now).toISOString();
  }
  return stampText;
}

/** A logger that writes timestamped lines to stderr (or to the given sink). */
export function createLogger(options: LoggerOptions = {}): SwitchableLogger {
  const sink = options.sink ?? writeStderr;
  const urgentSink = options.sink ?? ((line: string) => writeStderr(line, true));
  const stamp = (level: string, line: string) => `${isoNow()} ${level}: ${line}`;
  let verbose = options.verbose ?? false;
  const log: SwitchableLogger = {
    info: (line) => sink(stamp("info", line)),
    warn: (line) => urgentSink(stamp("warn", line)),
    debug: (line) => {
      if (verbose) sink(stamp("debug", line));
    },
    trace: (line) => sink(stamp("debug", line)),
    setVerbose: (on) => void (verbose = on),
  };
  if (!options.sink) stderrLoggers.add(log);
  return log;
}

/** Whether a logger can switch its debug lines on and off. */
export function isSwitchableLogger(log: Logger): log is SwitchableLogger {
  return typeof (log as Partial<SwitchableLogger>).setVerbose === "function";
}

/** A logger that drops everything (for library use and quiet tests). */
export const SILENT_LOGGER: Logger = { info() {}, debug() {}, warn() {} };
