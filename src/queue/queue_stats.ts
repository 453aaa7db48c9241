// What the queue tells about itself: its counts by state, and the callback that hears of
// each commit (the scheduler delivers a just-committed message from memory).

import type { QueuedEnvelope } from "./envelope.ts";
import type { MessageInfo } from "./sqlite_reads.ts";

/** What the queue holds, by envelope state. */
export interface QueueStats {
  /** Messages in the queue file. */
  readonly messages: number;
  /** Envelopes waiting for delivery. */
  readonly queued: number;
  /** Envelopes failed, waiting for their report. */
  readonly failed: number;
  /** Transactions committed since the queue was opened (group commits count once). */
  readonly commits: number;
}

/**
 * Called with the envelopes of messages just committed, and their content; for a new
 * message also its DSN settings and arrival, so its first attempt need not read them back.
 */
export type CommitListener = (
  envelopes: readonly QueuedEnvelope[],
  content: Uint8Array,
  info?: MessageInfo,
) => void;
