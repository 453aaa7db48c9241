// Public face of the daemon box: start and stop a whole server from a configuration.
export { startDaemon } from "./daemon.ts";
export type { Daemon, DaemonOptions } from "./daemon.ts";
export { configDir, openRuntime, queueDirectory } from "./runtime.ts";
export type { Runtime, RuntimeOptions, RuntimeSettings } from "./runtime.ts";
export { findServerName, localAddresses } from "./server_name.ts";
export { LOCAL_SESSION, openConfiguredQueue, routeReport } from "./queue_setup.ts";
export { describeStalls, startStallMonitor } from "./stall_monitor.ts";
export type { StallMonitor, StallReport } from "./stall_monitor.ts";
export { checkListenAddresses, resolveListenAddresses } from "./listen_addresses.ts";
export type { InterfaceList, ListenAddresses } from "./listen_addresses.ts";
export { runService } from "./service.ts";
export type { ServiceOptions } from "./service.ts";
export { DETACHED_CHILD_FLAG } from "./detach.ts";
