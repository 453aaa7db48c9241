/**
 * Local submission and the daemon's local interface: the offline drop directory (sticky,
 * world-writable, beside the private queue) and the daemon's socket in it, the socket's
 * framing and requests (a submission, the queue listing), how a peer's uid is proven
 * without SO_PEERCRED, the one path by which a local message is prepared and queued,
 * smtpctl's command grammar and requests, and the daemon's counters (stats.ts).
 *
 * @module
 */
export {
  controlSocketPath,
  OFFLINE_DIR_MODE,
  offlineAsideDirectory,
  offlineDirectory,
  SOCKET_MODE,
} from "./paths.ts";
export { prepareOfflineDirectory } from "./offline_dir.ts";
export type { DirectoryOwner } from "./offline_dir.ts";
export { parseSubmission } from "./submission.ts";
export type { LocalSubmission } from "./submission.ts";
export { EnqueueError, prepareMessage } from "./enqueue.ts";
export type { EnqueueRequest, PreparedMessage } from "./enqueue.ts";
export { queueLocalSubmission } from "./local_enqueue.ts";
export type { LocalEnqueueContext, LocalEnqueueOutcome } from "./local_enqueue.ts";
export { startControlServer } from "./server.ts";
export type {
  ControlHandlers,
  ControlServer,
  ControlServerOptions,
  ReceivedSubmission,
} from "./server.ts";
export { controlDaemon, ControlUnavailable, submitToDaemon } from "./client.ts";
export {
  CONTROL_COMMANDS,
  matchCommand,
  SMTPCTL_USAGE,
  UNPRIVILEGED_COMMANDS,
} from "./command_grammar.ts";
export type { ControlCommand, MatchedCommand } from "./command_grammar.ts";
export type { ControlAnswer, ControlRequest } from "./control_request.ts";
export { DaemonStats, STAT } from "./stats.ts";
export type { SubmitAnswer } from "./client.ts";
export { dropOffline, encodeOfflineFile, OFFLINE_MAGIC, parseOfflineFile } from "./offline_file.ts";
export { startOfflinePickup } from "./offline_pickup.ts";
export type { OfflinePickup, OfflinePickupOptions } from "./offline_pickup.ts";
export { loginNameOf } from "./local_users.ts";
export {
  controlSocketName,
  isGroupMember,
  nameControlSocket,
  privilegedPeers,
  SYSTEM_SOCKET_PATH,
} from "./control_access.ts";
export type { AccountFiles, SocketNameOptions } from "./control_access.ts";
