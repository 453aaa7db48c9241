/**
 * The runtime: one wiring of a configuration into tables, ruleset, queue and delivery,
 * shared by the daemon and the commands that work without one; and the daemon itself,
 * its listeners and scheduler, started and stopped in order.
 *
 * @module
 */
export { startDaemon } from "./daemon.ts";
export type { Daemon, DaemonOptions } from "./daemon.ts";
export { configDir, openRuntime, queueDirectory } from "./runtime.ts";
export { agentOfAction } from "./delivery_agents.ts";
export type { PrivilegedParent, Runtime, RuntimeOptions, RuntimeSettings } from "./runtime.ts";
export type { RdnsOptions } from "./rdns.ts";
export type { StopOptions } from "./stopping.ts";
export type { ReloadResult } from "./reload.ts";
export {
  LOCAL_SESSION,
  localSubmissionNoDsn,
  localSubmissionSession,
  openConfiguredQueue,
} from "./queue_setup.ts";
export { keyComesFromInput, QUEUE_KEY_VARIABLE, readQueueKeyInput } from "./queue_key_input.ts";
export { withRcptExpansion } from "./rcpt_decision.ts";
export { checkListenAddresses, resolveListenAddresses } from "./listen_addresses.ts";
export { checkPkiFiles } from "./certificates.ts";
export type { InterfaceList, ListenAddresses } from "./listen_addresses.ts";
export { runService } from "./service.ts";
export { describeMissing, missingPermissions } from "./permissions.ts";
export type { ServedDaemon, ServiceOptions } from "./service.ts";
export { DETACHED_CHILD_FLAG } from "./detach.ts";
export { nameSocket } from "./local_interface.ts";
