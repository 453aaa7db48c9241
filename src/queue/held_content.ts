// The message content the scheduler holds in memory, counted in bytes against a bound:
// a message counts once however many of its envelopes share its bytes, and is given back
// when the last of them lets go. Which holders it counts (envelopes waiting, attempts
// running) and what happens past the bound are the scheduler's to decide.

/**
 * The content committed messages may keep on their envelopes while they wait for their
 * first attempt: 16 MiB. Small messages are delivered from memory as received; a message
 * past what is left waits without its content, and its attempt reads it from the queue.
 */
export const READY_CONTENT_BYTES = 16 * 1024 * 1024;

/**
 * The content of large messages the running attempts may hold at once: 32 MiB. An
 * attempt that would go past it waits for others to end; one large attempt always runs,
 * whatever its message's size.
 */
export const RUNNING_CONTENT_BYTES = 32 * 1024 * 1024;

/**
 * From what size a message counts against {@link RUNNING_CONTENT_BYTES}: 1 MiB. Smaller
 * ones never wait behind large ones; what they hold is bounded by the count of attempts.
 */
export const LARGE_MESSAGE_BYTES = 1024 * 1024;

interface Holding {
  readonly size: number;
  holders: number;
  content: Uint8Array | Promise<Uint8Array | undefined> | undefined;
}

/** Messages' content held, each message counted once; every operation is O(1). */
export class HeldContent {
  readonly limit: number;
  #bytes = 0;
  #messages = new Map<string, Holding>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether another holder of message `msgid` (`size` bytes) stays within the bound: it
   * shares bytes held already, or they fit beside those.
   */
  fits(msgid: string, size: number): boolean {
    return this.#messages.has(msgid) || this.#bytes + size <= this.limit;
  }

  /** Counts one more holder of the message, with its content when the holder has it. */
  hold(msgid: string, size: number, content?: Uint8Array): void {
    const held = this.#messages.get(msgid);
    if (held) {
      held.holders++;
      held.content ??= content;
      return;
    }
    this.#messages.set(msgid, { size, holders: 1, content });
    this.#bytes += size;
  }

  /** One holder lets go; the last one gives the message's bytes back. */
  release(msgid: string): void {
    const held = this.#messages.get(msgid);
    if (!held || --held.holders > 0) return;
    this.#messages.delete(msgid);
    this.#bytes -= held.size;
  }

  /**
   * The held message's content, or what `read` gives, kept for its other holders: they
   * share one copy of it. The message must be held.
   */
  shared(
    msgid: string,
    read: () => Promise<Uint8Array | undefined>,
  ): Promise<Uint8Array | undefined> {
    const held = this.#messages.get(msgid);
    if (!held) return read();
    if (held.content instanceof Uint8Array) return Promise.resolve(held.content);
    if (held.content) return held.content;
    // A read that failed is not kept: the next holder reads again.
    const reading = read().catch((error) => {
      if (held.content === reading) held.content = undefined;
      throw error;
    });
    return held.content = reading;
  }
}
