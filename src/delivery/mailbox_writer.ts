// Where mailbox writes happen. A daemon that is not root writes every mailbox itself. A
// root daemon writes as each mailbox's owner: `mailbox.writer` children per uid (a small
// pool, grown under load), started with that uid and gid (Deno.Command), kept while busy
// and let go after a minute idle. The writes of one message for one user go to a child as
// one request carrying the message once.

import type { Logger } from "../log/mod.ts";
import type { DeliveryUser } from "./expand.ts";
import {
  encodeRequestHeader,
  type MailboxRequest,
  type MailboxWriteResult,
  performMailboxRequest,
  performMailboxRequests,
  type ResponseLine,
} from "./mailbox_request.ts";
import {
  CHANNEL_PATH_VARIABLE,
  CHANNEL_TOKEN_VARIABLE,
  channelStdio,
  type ChannelStreams,
  childChannel,
  errorMessage,
  offerChannel,
  reusedChunks,
  writeBatched,
} from "../mail/mod.ts";

/** Writes mailboxes with the right identity. */
export interface MailboxWriter {
  /** Performs one mailbox write as the user; rejects with what went wrong. */
  write(user: DeliveryUser, request: MailboxRequest, content: Uint8Array): Promise<void>;
  /**
   * Performs several writes of the same message as the user, concurrently, as one request
   * (the message is passed once); resolves with one result per write, in their order.
   */
  writeMany(
    user: DeliveryUser,
    requests: readonly MailboxRequest[],
    content: Uint8Array,
  ): Promise<MailboxWriteResult[]>;
  /** Stops the children. */
  close(): Promise<void>;
}

/** Options of {@link createMailboxWriter}. */
export interface MailboxWriterOptions {
  readonly log: Logger;
  /** Write as each user (default: when this process is root). */
  readonly asUsers?: boolean;
  /** Idle time before a child is let go, ms (default 60 s). */
  readonly idleMs?: number;
  /**
   * What the children are started by: a link to this executable named for their role,
   * so that `ps` shows it (default: the executable itself).
   */
  readonly program?: string;
  /** How many children one uid may have at once (default 2). */
  readonly poolSize?: number;
}

/** Children per uid: a second one writes while the first waits on its file system calls. */
const DEFAULT_POOL_SIZE = 2;

/** Writes waiting on a child past which the pool starts another. */
const BUSY_PENDING = 4;

/** The daemon's handle to one running `mailbox.writer` child. */
interface WriterProcess {
  readonly child: Deno.ChildProcess;
  /** The channel to the child (child_channel.ts). */
  readonly channel: ChannelStreams;
  /** Request frames go here (they wait for the child to connect). */
  readonly requests: WritableStreamDefaultWriter<Uint8Array>;
  readonly pending: Map<
    number,
    { resolve(results: readonly MailboxWriteResult[]): void; reject(error: Error): void }
  >;
  idle: ReturnType<typeof setTimeout> | undefined;
  readonly denoDir?: string;
}

/** Creates the writer for this process. */
export function createMailboxWriter(options: MailboxWriterOptions): MailboxWriter {
  const ownUid = safeUid();
  const asUsers = options.asUsers ?? ownUid === 0;
  const idleMs = options.idleMs ?? 60_000;
  const poolSize = Math.max(1, options.poolSize ?? DEFAULT_POOL_SIZE);
  const pools = new Map<string, WriterProcess[]>();
  let nextId = 1;

  // The least busy child of the user's pool; another one is started while every child
  // has writes waiting and the pool is not full.
  function processFor(user: DeliveryUser): WriterProcess {
    const key = `${user.uid}:${user.gid}`;
    const pool = pools.get(key) ?? [];
    let least: WriterProcess | undefined;
    for (const proc of pool) if (!least || proc.pending.size < least.pending.size) least = proc;
    if (least && (least.pending.size < BUSY_PENDING || pool.length >= poolSize)) return least;
    const proc = spawnWriterProcess(user, options.program);
    pool.push(proc);
    pools.set(key, pool);
    void readAnswers(proc).finally(() => {
      const left = (pools.get(key) ?? []).filter((p) => p !== proc);
      if (left.length > 0) pools.set(key, left);
      else pools.delete(key);
      for (const p of proc.pending.values()) p.reject(new Error("mailbox writer exited"));
      proc.pending.clear();
      if (proc.idle !== undefined) clearTimeout(proc.idle);
      if (proc.denoDir) Deno.remove(proc.denoDir, { recursive: true }).catch(() => {});
    });
    return proc;
  }

  async function readAnswers(proc: WriterProcess): Promise<void> {
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of reusedChunks(proc.channel.readable)) {
        text += decoder.decode(chunk, { stream: true });
        let newline;
        while ((newline = text.indexOf("\n")) !== -1) {
          const line = JSON.parse(text.slice(0, newline)) as ResponseLine;
          text = text.slice(newline + 1);
          const waiting = proc.pending.get(line.id);
          proc.pending.delete(line.id);
          waiting?.resolve(line.results);
        }
        if (proc.pending.size === 0) armIdle(proc);
      }
    } catch (error) {
      options.log.warn(`delivery: mailbox writer: ${errorMessage(error)}`);
    }
    await proc.child.status;
    await proc.channel.close();
  }

  function armIdle(proc: WriterProcess): void {
    if (proc.idle !== undefined) clearTimeout(proc.idle);
    proc.idle = setTimeout(() => proc.requests.close().catch(() => {}), idleMs);
  }

  async function writeMany(
    user: DeliveryUser,
    requests: readonly MailboxRequest[],
    content: Uint8Array,
  ): Promise<MailboxWriteResult[]> {
    if (!asUsers || user.uid === ownUid) return await performMailboxRequests(requests, content);
    const proc = processFor(user);
    if (proc.idle !== undefined) clearTimeout(proc.idle);
    proc.idle = undefined;
    const id = nextId++;
    const answered = new Promise<readonly MailboxWriteResult[]>((resolve, reject) =>
      proc.pending.set(id, { resolve, reject })
    );
    // Header, then the message as it is; the requests of one task in one write.
    const [, results] = await Promise.all([
      writeBatched(proc.requests, encodeRequestHeader(id, requests, content), content),
      answered,
    ]);
    // A child answers every write of a request; one missing is a child gone wrong.
    return requests.map((_, n) => results[n] ?? { error: "mailbox writer gave no answer" });
  }

  return {
    async write(user, request, content) {
      if (!asUsers || user.uid === ownUid) return await performMailboxRequest(request, content);
      const [result] = await writeMany(user, [request], content);
      if (result?.error !== undefined) throw new Error(result.error);
    },
    writeMany,
    async close() {
      for (const proc of [...pools.values()].flat()) {
        if (proc.idle !== undefined) clearTimeout(proc.idle);
        await proc.requests.close().catch(() => {});
        await proc.child.status;
      }
    },
  };
}

// Under `deno run` the child is a second Deno with only file permissions and a fresh
// module cache of its own; a compiled executable runs itself as `mailbox.writer`.
//
// A writer holds little between messages: its young generation is capped at 1 MiB a
// semi-space (V8 grows it to 16 MiB under load) and the old one collected at 20% growth.
// Two writers of one user after 10,000 messages at 20 sessions: 35-38 MiB PSS each without,
// 32-33 with.
const WRITER_V8_FLAGS = "--v8-flags=--max-semi-space-size=1,--heap-growing-percent=20";

function spawnWriterProcess(user: DeliveryUser, program?: string): WriterProcess {
  const exec = Deno.execPath();
  const compiled = !/\/deno(\.exe)?$/.test(exec);
  let denoDir: string | undefined;
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
  };
  if (!compiled) {
    denoDir = Deno.makeTempDirSync({ prefix: "smtpd-mailbox-writer-" });
    Deno.chownSync(denoDir, user.uid, user.gid);
    env["DENO_DIR"] = denoDir;
  }
  const main = new URL("./mailbox_writer_child_main.ts", import.meta.url).pathname;
  // Requests and answers go over a socket (child_channel.ts), not the child's standard
  // input and output: the runtime reads and writes those by a thread each call.
  const offer = offerChannel(user);
  const args = compiled ? ["mailbox.writer"] : [
    "run",
    "--quiet",
    "--no-prompt",
    WRITER_V8_FLAGS,
    "--allow-read",
    "--allow-write",
    "--allow-sys=hostname",
    `--allow-env=${CHANNEL_PATH_VARIABLE},${CHANNEL_TOKEN_VARIABLE}`,
    ...(offer ? [`--allow-net=unix:${offer.path}`] : []),
    main,
  ];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program ?? exec, {
      args,
      cwd: "/",
      clearEnv: true,
      env: { ...env, ...offer?.env },
      uid: user.uid,
      gid: user.gid,
      ...channelStdio(offer),
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    offer?.close();
    throw error;
  }
  const channel = childChannel(child, offer);
  return {
    child,
    channel,
    requests: channel.writable.getWriter(),
    pending: new Map(),
    idle: undefined,
    ...(denoDir ? { denoDir } : {}),
  };
}

function safeUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
