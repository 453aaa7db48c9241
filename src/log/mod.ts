// Public face of the logging box.
export { createLogger, flushLog, SILENT_LOGGER } from "./logger.ts";
export type { Logger, LoggerOptions } from "./logger.ts";
