/**
 * Log lines in the spirit of OpenSMTPD's maillog: one line per event, to standard error
 * or to a sink; the callers choose the `smtp-in:` / `delivery:` prefixes.
 *
 * @module
 */
export {
  createLogger,
  flushLog,
  isSwitchableLogger,
  SILENT_LOGGER,
  writesTextToStderr,
} from "./logger.ts";
export type { Logger, LoggerOptions, SwitchableLogger } from "./logger.ts";
export { openDaemonLog } from "./syslog.ts";
export {
  isProfiled,
  isProfileName,
  isTraced,
  isTraceName,
  profile,
  PROFILE_SUBSYSTEMS,
  setProfiling,
  setTraceOutput,
  setTracing,
  trace,
  TRACE_SUBSYSTEMS,
} from "./trace.ts";
export type { ProfileSink, ProfileSubsystem, TraceSubsystem } from "./trace.ts";
export type { DaemonLog, DaemonLogOptions } from "./syslog.ts";
export {
  durationText,
  eventObject,
  formatEventText,
  jsonLogger,
  logEvent,
  observingLogger,
  parseEventText,
  quoted,
} from "./events.ts";
export type { EventLogger, FieldValue, LogEvent, LogFormat, Quoted } from "./events.ts";
