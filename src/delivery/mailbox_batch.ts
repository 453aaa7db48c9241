// Gathers the mailbox writes that start together for one user with the same message — the
// recipients of one message, which the scheduler delivers side by side — into one
// `writeMany`, so the message crosses each pipe once instead of once per recipient.

import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { type DeliveryUser, deliveryUserKey } from "./expand.ts";
import type { MailboxRequest } from "./mailbox_request.ts";
import { mailboxWriteError } from "./mailbox_request_check.ts";
import type { MailboxWriter } from "./mailbox_writer.ts";

/** Options of {@link batchMailboxWrites}. */
export interface MailboxBatchOptions {
  /** The most writes one request carries (default 64). */
  readonly maxBatch?: number;
}

const DEFAULT_MAX_BATCH = 64;

interface Waiting {
  readonly request: MailboxRequest;
  resolve(): void;
  reject(error: Error): void;
}

interface Batch {
  readonly user: DeliveryUser;
  readonly content: Uint8Array;
  readonly waiting: Waiting[];
}

/**
 * A writer whose `write`s, when several of the same message for the same user start in
 * one turn of the event loop, go to `writer.writeMany` as one request. Each write still
 * settles with its own result: a failing mailbox fails only its own write, with the same
 * error text as alone. A write with nothing to join goes to `writer.write` as it is.
 */
export function batchMailboxWrites(
  writer: MailboxWriter,
  options: MailboxBatchOptions = {},
): MailboxWriter {
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  let batches = new Map<string, Batch[]>();
  let scheduled = false;

  // On the next turn of the event loop: every write this turn started has joined by then.
  function flush(): void {
    const due = [...batches.values()].flat();
    batches = new Map();
    scheduled = false;
    for (const batch of due) send(batch);
  }

  function send({ user, content, waiting }: Batch): void {
    if (waiting.length === 1) {
      const [only] = waiting as [Waiting];
      writer.write(user, only.request, content).then(only.resolve, only.reject);
      return;
    }
    writer.writeMany(user, waiting.map((w) => w.request), content).then(
      (results) =>
        waiting.forEach((w, n) => {
          const result = results[n];
          if (result?.error === undefined) w.resolve();
          else w.reject(mailboxWriteError({ ...result, error: result.error }));
        }),
      (error) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const w of waiting) w.reject(failure);
      },
    );
  }

  return {
    write(user, request, content) {
      return new Promise<void>((resolve, reject) => {
        const key = deliveryUserKey(user);
        const list = batches.get(key) ?? [];
        let batch = list.find((b) => b.waiting.length < maxBatch && sameBytes(b.content, content));
        if (!batch) {
          batch = { user, content, waiting: [] };
          list.push(batch);
          batches.set(key, list);
        }
        batch.waiting.push({ request, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // Not setTimeout(0): nested timers are clamped to 4 ms (HTML timers §8.6).
          setImmediate(flush);
        }
      });
    },
    writeMany: (user, requests, content) => writer.writeMany(user, requests, content),
    close: () => writer.close(),
  };
}

// The same message: one buffer, or (read back from the queue per envelope) equal bytes.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
