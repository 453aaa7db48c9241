// The front's mailbox writes without the parent in their path. For each user the front
// listens on a socket of its own (in the directory the parent made for it) and asks the
// parent to start a writer as that user that connects there ("writer"); the writes then
// go from the front to the writer and back, two processes woken per message instead of
// three. The parent checks the user as it checks a write, and the writer checks each
// write as the parent would. Maildirs only: an mbox (the user's mailbox in the system
// spool, which the parent may write as another identity, or a `/file` whose naming the
// parent checks) and a user the parent starts no writer for go through the parent.

import {
  createWriterPool,
  type DeliveryUser,
  deliveryUserKey,
  type MailboxRequest,
  mailboxWriteError,
  type MailboxWriter,
  type MailboxWriteResult,
  type WriterConnection,
} from "../delivery/mod.ts";
import { type Logger, trace } from "../log/mod.ts";
import { acceptedChannel, errorMessage, offerChannelIn } from "../mail/mod.ts";
import type { PrivsepClient } from "./client.ts";

/** How long a user the parent started no writer for goes through the parent. */
const RETRY_DIRECT_MS = 30_000;

/** How long a writer has to connect once asked for (a runtime starts in well under 1 s). */
const CONNECT_WAIT_MS = 30_000;

/** Options of {@link directMailboxWriter}. */
export interface DirectWriterOptions {
  /** The directory the parent made for the front's writer sockets. */
  readonly dir: string;
  readonly log: Logger;
}

/** A writer that sends the front's writes to writers of its own, else to `viaParent`. */
export function directMailboxWriter(
  client: PrivsepClient,
  viaParent: MailboxWriter,
  options: DirectWriterOptions,
): MailboxWriter {
  const { dir, log } = options;
  // Users whose writer could not be had, until when they go through the parent.
  const throughParent = new Map<string, number>();
  const pool = createWriterPool((user) => startWriter(user), { log });

  function startWriter(user: DeliveryUser): WriterConnection {
    const key = deliveryUserKey(user);
    const fail = (reason: string) => {
      log.warn(`delivery: no mailbox writer of the front's for ${user.name}: ${reason}`);
      throughParent.set(key, Date.now() + RETRY_DIRECT_MS);
    };
    let offer;
    try {
      offer = offerChannelIn(dir);
    } catch (error) {
      fail(errorMessage(error));
      return neverConnected();
    }
    const gone = client.ask({
      kind: "writer",
      user,
      path: offer.path,
      token: offer.token,
      hello: offer.hello!,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CONNECT_WAIT_MS);
      Deno.unrefTimer(timer);
    });
    // The parent's answer before the writer connected (or none in time) means it never will.
    const before = Promise.race([gone, late]);
    const channel = acceptedChannel(offer, before);
    void channel.connected.then(async (connected) => {
      clearTimeout(timer);
      if (connected) return;
      const answer = await before;
      fail(
        answer === undefined
          ? `the writer did not connect in ${CONNECT_WAIT_MS / 1000} s`
          : answer.kind === "refused"
          ? answer.reason
          : "the writer exited before it connected",
      );
    });
    return { channel, connected: channel.connected, exited: gone };
  }

  function direct(user: DeliveryUser, requests: readonly MailboxRequest[]): boolean {
    // An mbox (the spool's, or a /file) is the parent's to check and write: a writer of
    // the front's writes Maildirs only.
    if (requests.some((r) => r.kind === "mbox")) return false;
    const key = deliveryUserKey(user);
    const until = throughParent.get(key);
    if (until === undefined) return true;
    if (Date.now() < until) return false;
    throughParent.delete(key);
    return true;
  }

  // The results from a writer of the front's; undefined when the writes are the parent's
  // to make, or the writer never connected (so nothing was written).
  async function writeDirect(
    user: DeliveryUser,
    requests: readonly MailboxRequest[],
    content: Uint8Array,
  ): Promise<MailboxWriteResult[] | undefined> {
    if (!direct(user, requests)) return undefined;
    trace("imsg", () => `front -> writer: ${requests.length} mailbox writes for ${user.name}`);
    return await pool.writeMany(user, requests, content);
  }

  return {
    async write(user, request, content) {
      const results = await writeDirect(user, [request], content);
      if (!results) return await viaParent.write(user, request, content);
      const result = results[0];
      if (result?.error !== undefined) throw mailboxWriteError({ ...result, error: result.error });
    },
    async writeMany(user, requests, content) {
      return await writeDirect(user, requests, content) ??
        await viaParent.writeMany(user, requests, content);
    },
    async close() {
      await pool.close();
      await viaParent.close();
    },
  };
}

function neverConnected(): WriterConnection {
  const ended = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return {
    channel: {
      readable: ended,
      writable: new WritableStream({ write: () => Promise.reject(new Error("not connected")) }),
      close: () => Promise.resolve(),
    },
    connected: Promise.resolve(false),
    exited: Promise.resolve(),
  };
}
