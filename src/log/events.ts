// The daemon's event lines in OpenSMTPD 7.x's maillog format (`<id> smtp connected
// address=… host=…`), or, with `log format json`, one JSON object per line with the same fields.

import { isoNow, type Logger } from "./logger.ts";

/** How event lines are written: OpenSMTPD's text (the default) or one JSON object a line. */
export type LogFormat = "text" | "json";

/** A field value OpenSMTPD writes between double quotes (`result="550 …"`). */
export interface Quoted {
  readonly quoted: string;
}

/** A field value: plain text, a number, or one written between quotes. */
export type FieldValue = string | number | Quoted;

/** One event: the session (or envelope's session) id, the subsystem, the event, the fields. */
export interface LogEvent {
  /** 16 hex digits: the SMTP session, or the session that queued the envelope. */
  readonly id: string;
  /** `smtp`, `mda`, `mta`. */
  readonly subsystem: string;
  /** `connected`, `failed-command`, `delivery`, … */
  readonly event: string;
  /** In OpenSMTPD's order. */
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** A logger that can write an event in its own format, and let others see it (counters). */
export interface EventLogger extends Logger {
  event(event: LogEvent): void;
}

/** Marks a value OpenSMTPD quotes. */
export function quoted(value: string): Quoted {
  return { quoted: value };
}

/** The text line of an event, as OpenSMTPD's log_info writes it. */
export function formatEventText(event: LogEvent): string {
  // Concatenated in one pass: a message makes five of these lines.
  let line = `${event.id} ${event.subsystem} ${event.event}`;
  for (const [key, value] of Object.entries(event.fields)) {
    line += typeof value === "object"
      ? ` ${key}="${escapeQuoted(value.quoted)}"`
      : ` ${key}=${value}`;
  }
  return line;
}

/** The JSON object of an event: `id`, `subsystem`, `event`, then the same fields. */
export function eventObject(event: LogEvent): Record<string, string | number> {
  const out: Record<string, string | number> = {
    id: event.id,
    subsystem: event.subsystem,
    event: event.event,
  };
  for (const [key, value] of Object.entries(event.fields)) {
    out[key] = typeof value === "object" ? value.quoted : value;
  }
  return out;
}

/** Writes an event through `log`: as the logger formats events, or as OpenSMTPD's text line. */
export function logEvent(log: Logger, event: LogEvent): void {
  const events = (log as Partial<EventLogger>).event;
  if (typeof events === "function") events.call(log, event);
  else log.info(formatEventText(event));
}

/**
 * A logger that writes events as OpenSMTPD's text lines, and shows each to `observe` first
 * (the daemon's counters are kept from the same events the log shows).
 */
export function observingLogger(log: Logger, observe: (event: LogEvent) => void): EventLogger {
  const wrapped = Object.create(log) as EventLogger;
  wrapped.info = (line) => log.info(line);
  wrapped.warn = (line) => log.warn(line);
  wrapped.debug = (line) => log.debug(line);
  wrapped.trace = (line) => log.trace ? log.trace(line) : log.debug(line);
  wrapped.event = (event) => {
    observe(event);
    logEvent(log, event);
  };
  return wrapped;
}

/**
 * A logger writing one JSON object a line through `write`: an event with its fields (also
 * one that arrives as its text line, from the privilege-separated front), any other line as
 * `{"time","level","message"}`.
 */
export function jsonLogger(
  write: (line: string, level: "info" | "warn" | "debug") => void,
  verbose: boolean,
): EventLogger & { setVerbose(on: boolean): void } {
  const line = (level: "info" | "warn" | "debug", fields: Record<string, unknown>) =>
    write(JSON.stringify({ time: isoNow(), level, ...fields }), level);
  const text = (level: "info" | "warn" | "debug") => (message: string) => {
    const event = parseEventText(message);
    line(level, event ? eventObject(event) : { message });
  };
  return {
    info: text("info"),
    warn: text("warn"),
    debug: (message) => {
      if (verbose) text("debug")(message);
    },
    trace: text("debug"),
    setVerbose: (on) => void (verbose = on),
    event: (event) => line("info", eventObject(event)),
  };
}

const EVENT_LINE =
  /^([0-9a-f]{16}) (smtp|mda|mta) ([a-z-]+)((?: [a-z-]+=(?:"(?:[^"\\]|\\.)*"|\S*))*)$/;
const EVENT_FIELD = / ([a-z-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g;

/** Reads an event back from its text line; undefined for any other line. */
export function parseEventText(line: string): LogEvent | undefined {
  const match = EVENT_LINE.exec(line);
  if (!match) return undefined;
  const fields: Record<string, FieldValue> = {};
  for (const field of match[4]!.matchAll(EVENT_FIELD)) {
    fields[field[1]!] = field[2] !== undefined ? quoted(unescapeQuoted(field[2])) : field[3]!;
  }
  return { id: match[1]!, subsystem: match[2]!, event: match[3]!, fields };
}

/** OpenSMTPD's duration_to_text: `0s`, `42s`, `1m5s`, `2d3h`. */
export function durationText(seconds: number): string {
  let t = Math.max(0, Math.floor(seconds));
  if (t === 0) return "0s";
  const s = t % 60;
  t = Math.floor(t / 60);
  const m = t % 60;
  t = Math.floor(t / 60);
  const h = t % 24;
  const d = Math.floor(t / 24);
  return `${d ? `${d}d` : ""}${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}

function unescapeQuoted(text: string): string {
  return text.replace(
    /\\(x[0-9a-f]{2}|.)/g,
    (_, c: string) => c.length === 3 ? String.fromCharCode(parseInt(c.slice(1), 16)) : c,
  );
}

// strnvis(VIS_CSTYLE) in spirit: a quote or a control character cannot end the field early.
function escapeQuoted(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /["\\\x00-\x1f\x7f]/g,
    (c) =>
      c === '"'
        ? '\\"'
        : c === "\\"
        ? "\\\\"
        : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
