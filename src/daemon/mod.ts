// Public face of the daemon box: start and stop a whole server from a configuration.
export { configDir, queueDirectory, startDaemon } from "./daemon.ts";
export type { Daemon, DaemonOptions } from "./daemon.ts";
export { findServerName, localAddresses } from "./server_name.ts";
