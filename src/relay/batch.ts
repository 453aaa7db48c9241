// Envelopes of one message bound for the same next hops share one transaction: those that
// arrive while the first is still getting its session ready join it as further RCPTs, and
// each gets its own recipient's result back. Nothing waits for company that is not coming.

import { type DeliveryResult, errorMessage, tempfail } from "../mail/mod.ts";

/** RFC 5321 §4.5.3.1.8: every server takes at least 100 recipients in one transaction. */
export const MAX_BATCH_RECIPIENTS = 100;

/**
 * Runs one transaction for a batch: `take()` closes the batch and gives its recipients; the
 * result is one per taken recipient, in order, or one for every recipient when the batch
 * failed before it was taken.
 */
export type BatchRun<R = string> = (
  take: () => readonly R[],
) => Promise<DeliveryResult[] | DeliveryResult>;

interface Batch<R> {
  readonly recipients: R[];
  readonly waiters: ((result: DeliveryResult) => void)[];
  closed: boolean;
}

/** Open batches by key (message, action and destination). */
export class RecipientBatcher<R = string> {
  readonly #open = new Map<string, Batch<R>>();

  /** The result for `rcpt`: its own batch's, joined or started. */
  submit(key: string, rcpt: R, run: BatchRun<R>): Promise<DeliveryResult> {
    const open = this.#open.get(key);
    if (open && !open.closed && open.recipients.length < MAX_BATCH_RECIPIENTS) {
      open.recipients.push(rcpt);
      return new Promise((resolve) => open.waiters.push(resolve));
    }
    const batch: Batch<R> = { recipients: [rcpt], waiters: [], closed: false };
    this.#open.set(key, batch);
    const take = () => {
      if (!batch.closed) {
        batch.closed = true;
        if (this.#open.get(key) === batch) this.#open.delete(key);
      }
      return batch.recipients;
    };
    return this.#finish(batch, take, run);
  }

  async #finish(batch: Batch<R>, take: () => readonly R[], run: BatchRun<R>) {
    let outcome: DeliveryResult[] | DeliveryResult;
    try {
      outcome = await run(take);
    } catch (error) {
      outcome = tempfail(errorMessage(error));
    }
    take();
    const resultFor = (i: number): DeliveryResult =>
      Array.isArray(outcome) ? outcome[i] ?? tempfail("no result for the recipient") : outcome;
    batch.waiters.forEach((resolve, i) => resolve(resultFor(i + 1)));
    return resultFor(0);
  }
}
