// The library face: load or parse a configuration, start a daemon from it.
export { ConfigError, formatDiagnostic, loadConfig, parseConfig } from "./src/config/mod.ts";
export type { Config, Diagnostic } from "./src/config/mod.ts";
export { startDaemon } from "./src/daemon/mod.ts";
export type { Daemon, DaemonOptions } from "./src/daemon/mod.ts";
export { createLogger } from "./src/log/mod.ts";
export type { Logger } from "./src/log/mod.ts";
