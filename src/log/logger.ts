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
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Print debug lines too. */
  readonly verbose?: boolean;
  /** Where lines are written; stderr by default. */
  readonly sink?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** A logger that writes timestamped lines to stderr (or to the given sink). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? writeStderr;
  const stamp = (level: string, line: string) => `${new Date().toISOString()} ${level}: ${line}`;
  return {
    info: (line) => sink(stamp("info", line)),
    warn: (line) => sink(stamp("warn", line)),
    debug: options.verbose ? (line) => sink(stamp("debug", line)) : () => {},
  };
}

/** A logger that drops everything (for library use and quiet tests). */
export const SILENT_LOGGER: Logger = { info() {}, debug() {}, warn() {} };
