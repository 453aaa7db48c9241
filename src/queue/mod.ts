/**
 * The queue: the one SQLite file that holds every accepted message until it is
 * delivered, the scheduler that drains it and retries on OpenSMTPD's schedule, the
 * delivery status reports, and one-shot flushes.
 *
 * @module
 */
export type {
  DueEnvelope,
  EnvelopeState,
  ListedEnvelope,
  NewEnvelope,
  NewMessage,
  QueuedEnvelope,
} from "./envelope.ts";
export { openQueue, Queue } from "./sqlite_store.ts";
export type { PolicyCache, StoredPolicy } from "./sqlite_policies.ts";
export type { CommitListener, CommitOptions, QueueOptions, QueueStats } from "./sqlite_store.ts";
export type { MessageInfo } from "./sqlite_reads.ts";
export type { EnvelopeSelector, RemoveCount } from "./sqlite_admin.ts";
export { freeMsgid } from "./free_msgid.ts";
export { startScheduler } from "./scheduler.ts";
export type { DeliverFunction, DeliveryOutcome, Scheduler, SchedulerOptions } from "./scheduler.ts";
export type { Clock } from "./clock.ts";
export { ManualClock } from "./clock.ts";
export { flushQueue } from "./flush.ts";
export type { FlushOptions, FlushSummary } from "./flush.ts";
export { secureQueueDirectory } from "./queue_modes.ts";
export { releaseGoneLeases } from "./gone_holders.ts";
