// A pool of `mailbox.writer` channels per uid: the least busy writer of a user takes the
// next request, another is started while every one has writes waiting (up to the pool's
// size), and one idle for a minute is let go. How a writer is started is the caller's: the
// root daemon spawns it and it connects back (mailbox_writer.ts); the unprivileged front
// asks the privileged parent to start one that connects to the front.

import type { Logger } from "../log/mod.ts";
import type { DeliveryUser } from "./expand.ts";
import {
  encodeRequestHeader,
  type MailboxRequest,
  type MailboxWriteResult,
  type ResponseLine,
} from "./mailbox_request.ts";
import { type ChannelStreams, errorMessage, reusedChunks, writeBatched } from "../mail/mod.ts";

/** A channel to one mailbox writer, however it was started. */
export interface WriterConnection {
  readonly channel: ChannelStreams;
  /** True once the writer is connected; false when it never will be (it is gone). */
  readonly connected: Promise<boolean>;
  /** Settles once the writer is gone (its channel has ended by then). */
  readonly exited: Promise<unknown>;
  /** Removes what was made for the writer, once it is gone. */
  cleanup?(): void;
}

/** Options of {@link createWriterPool}. */
export interface WriterPoolOptions {
  readonly log: Logger;
  /** Idle time before a writer is let go, ms (default 60 s). */
  readonly idleMs?: number;
  /** How many writers one uid may have at once (default 2). */
  readonly poolSize?: number;
}

/** Writers per uid, each taking requests of the writes of one message. */
export interface WriterPool {
  /**
   * The writes of one message as the user, as one request; one result per write, in
   * their order. Undefined when the writer it went to never connected: nothing was sent.
   */
  writeMany(
    user: DeliveryUser,
    requests: readonly MailboxRequest[],
    content: Uint8Array,
  ): Promise<MailboxWriteResult[] | undefined>;
  /** Ends every writer's channel and waits for them to be gone. */
  close(): Promise<void>;
}

/** Children per uid: a second one writes while the first waits on its file system calls. */
const DEFAULT_POOL_SIZE = 2;

/** Writes waiting on a writer past which the pool starts another. */
const BUSY_PENDING = 4;

interface PooledWriter {
  /** Its pool's key: the uid and gid. */
  readonly key: string;
  readonly connection: WriterConnection;
  /** Request frames go here (they wait for the writer to connect). */
  readonly requests: WritableStreamDefaultWriter<Uint8Array>;
  readonly pending: Map<
    number,
    { resolve(results: readonly MailboxWriteResult[]): void; reject(error: Error): void }
  >;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** Creates a pool whose writers `start` starts. */
export function createWriterPool(
  start: (user: DeliveryUser) => WriterConnection,
  options: WriterPoolOptions,
): WriterPool {
  const idleMs = options.idleMs ?? 60_000;
  const poolSize = Math.max(1, options.poolSize ?? DEFAULT_POOL_SIZE);
  const pools = new Map<string, PooledWriter[]>();
  // Every writer not yet gone, in a pool or let go and exiting.
  const live = new Set<PooledWriter>();
  let nextId = 1;

  function writerFor(user: DeliveryUser): PooledWriter {
    const key = `${user.uid}:${user.gid}`;
    const pool = pools.get(key) ?? [];
    let least: PooledWriter | undefined;
    for (const w of pool) if (!least || w.pending.size < least.pending.size) least = w;
    if (least && (least.pending.size < BUSY_PENDING || pool.length >= poolSize)) return least;
    const connection = start(user);
    const writer: PooledWriter = {
      key,
      connection,
      requests: connection.channel.writable.getWriter(),
      pending: new Map(),
      idle: undefined,
    };
    pool.push(writer);
    pools.set(key, pool);
    live.add(writer);
    void readAnswers(writer).finally(async () => {
      retire(writer);
      live.delete(writer);
      // readAnswers returns once the writer is gone: its status is there.
      const how = exitNote(await connection.exited.catch(() => undefined));
      const gone = new Error(`mailbox writer for ${user.name} exited${how}`);
      for (const p of writer.pending.values()) p.reject(gone);
      writer.pending.clear();
      if (writer.idle !== undefined) clearTimeout(writer.idle);
      connection.cleanup?.();
    });
    return writer;
  }

  async function readAnswers(writer: PooledWriter): Promise<void> {
    const { channel, exited } = writer.connection;
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of reusedChunks(channel.readable)) {
        text += decoder.decode(chunk, { stream: true });
        let newline;
        while ((newline = text.indexOf("\n")) !== -1) {
          const line = JSON.parse(text.slice(0, newline)) as ResponseLine;
          text = text.slice(newline + 1);
          const waiting = writer.pending.get(line.id);
          writer.pending.delete(line.id);
          waiting?.resolve(line.results);
        }
        if (writer.pending.size === 0) armIdle(writer);
      }
    } catch (error) {
      options.log.warn(`delivery: mailbox writer: ${errorMessage(error)}`);
    }
    await exited;
    await channel.close();
  }

  // Out of the pool: no write goes to it any more.
  function retire(writer: PooledWriter): void {
    const left = (pools.get(writer.key) ?? []).filter((w) => w !== writer);
    if (left.length > 0) pools.set(writer.key, left);
    else pools.delete(writer.key);
  }

  // A writer idle that long is let go: out of the pool at once, so that a write that
  // comes while it exits gets another one.
  function armIdle(writer: PooledWriter): void {
    if (writer.idle !== undefined) clearTimeout(writer.idle);
    writer.idle = setTimeout(() => {
      retire(writer);
      writer.requests.close().catch(() => {});
    }, idleMs);
  }

  return {
    async writeMany(user, requests, content) {
      const writer = writerFor(user);
      if (writer.idle !== undefined) clearTimeout(writer.idle);
      writer.idle = undefined;
      // Counted as waiting at once, so that a burst of writes grows the pool.
      const id = nextId++;
      const answered = new Promise<readonly MailboxWriteResult[]>((resolve, reject) =>
        writer.pending.set(id, { resolve, reject })
      );
      if (!await writer.connection.connected) {
        writer.pending.delete(id);
        answered.catch(() => {});
        return undefined;
      }
      // Header, then the message as it is; the requests of one task in one write.
      const [, results] = await Promise.all([
        writeBatched(writer.requests, encodeRequestHeader(id, requests, content), content),
        answered,
      ]);
      // A writer answers every write of a request; one missing is a writer gone wrong.
      return requests.map((_, n) => results[n] ?? { error: "mailbox writer gave no answer" });
    },
    async close() {
      for (const writer of [...live]) {
        if (writer.idle !== undefined) clearTimeout(writer.idle);
        await writer.requests.close().catch(() => {});
        await writer.connection.exited;
      }
    },
  };
}

// How a writer ended, when its status says: a writer of the front's ends with the
// parent's answer, which has none.
function exitNote(status: unknown): string {
  if (typeof status !== "object" || status === null || !("code" in status)) return "";
  const { code, signal } = status as Deno.CommandStatus;
  return signal ? ` (signal ${signal.replace(/^SIG/, "")})` : ` (status ${code})`;
}
