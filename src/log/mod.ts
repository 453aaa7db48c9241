// Public face of the logging box.
export { createLogger, flushLog, SILENT_LOGGER } from "./logger.ts";
export type { Logger, LoggerOptions } from "./logger.ts";
export { openDaemonLog, SYSLOG_SOCKET } from "./syslog.ts";
export type { DaemonLog, DaemonLogOptions } from "./syslog.ts";
