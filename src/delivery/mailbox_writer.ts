// Where mailbox writes happen. A daemon that is not root writes every mailbox itself. A
// root daemon writes as each mailbox's owner: `mailbox.writer` children per uid (a small
// pool, mailbox_writer_pool.ts), started with that uid and gid (Deno.Command). The writes
// of one message for one user go to a child as one request carrying the message once.

import type { Logger } from "../log/mod.ts";
import type { DeliveryUser } from "./expand.ts";
import {
  type MailboxRequest,
  type MailboxWriteResult,
  performMailboxRequest,
  performMailboxRequests,
} from "./mailbox_request.ts";
import { mailboxWriteError } from "./mailbox_request_check.ts";
import { MAILDIR_ONLY_VARIABLE } from "./mailbox_request.ts";
import { createWriterPool } from "./mailbox_writer_pool.ts";
import { findSetpriv } from "./setpriv.ts";
import { writerModuleCache } from "./writer_module_cache.ts";
import {
  CHANNEL_HELLO_VARIABLE,
  CHANNEL_PATH_VARIABLE,
  CHANNEL_TOKEN_VARIABLE,
  childChannel,
  offerChannel,
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

/** Creates the writer for this process. */
export function createMailboxWriter(options: MailboxWriterOptions): MailboxWriter {
  const ownUid = safeUid();
  const asUsers = options.asUsers ?? ownUid === 0;
  const pool = createWriterPool((user) => {
    // Requests and answers go over a socket (child_channel.ts), not the child's standard
    // input and output: the runtime reads and writes those by a thread each call.
    const offer = offerChannel(user);
    let writer: StartedWriter;
    try {
      writer = spawnMailboxWriter(user, {
        ...(options.program ? { program: options.program } : {}),
        ...(offer ? { connectTo: offer } : {}),
      });
    } catch (error) {
      offer?.close();
      throw error;
    }
    return {
      channel: childChannel(writer.process, offer),
      // Writes to a child that never connects fail on the channel with their reason.
      connected: Promise.resolve(true),
      exited: writer.process.status,
    };
  }, options);

  async function writeMany(
    user: DeliveryUser,
    requests: readonly MailboxRequest[],
    content: Uint8Array,
  ): Promise<MailboxWriteResult[]> {
    if (!asUsers || user.uid === ownUid) return await performMailboxRequests(requests, content);
    const results = await pool.writeMany(user, requests, content);
    if (!results) throw new Error("mailbox writer exited before it connected");
    return results;
  }

  return {
    async write(user, request, content) {
      if (!asUsers || user.uid === ownUid) return await performMailboxRequest(request, content);
      const [result] = await writeMany(user, [request], content);
      // A write the child refused for good (it failed a check) bounces rather than retries.
      if (result?.error !== undefined) throw mailboxWriteError({ ...result, error: result.error });
    },
    writeMany,
    close: () => pool.close(),
  };
}

// Under `deno run` the child is a second Deno with only file permissions, loading its
// modules from a cache root made and the user cannot write (writer_module_cache.ts); a
// compiled executable runs itself as `mailbox.writer`.
//
// A writer holds little between messages: its young generation is capped at 1 MiB a
// semi-space (V8 grows it to 16 MiB under load) and the old one collected at 20% growth.
// Two writers of one user after 10,000 messages at 20 sessions: 35-38 MiB PSS each without,
// 32-33 with.
const WRITER_V8_FLAGS = "--v8-flags=--max-semi-space-size=1,--heap-growing-percent=20";

/** A started `mailbox.writer`. */
export interface StartedWriter {
  readonly process: Deno.ChildProcess;
}

/**
 * Where a writer connects: the socket, the token it sends first and, for a socket in a
 * directory its starter does not own, what the peer must say before it sends anything.
 */
export interface WriterSocket {
  readonly path: string;
  readonly token: string;
  readonly hello?: string;
}

/**
 * Starts a writer as the user that connects to `connectTo` (else talks on its standard
 * input and output, piped).
 */
export function spawnMailboxWriter(
  user: DeliveryUser,
  options: {
    readonly program?: string;
    readonly connectTo?: WriterSocket;
    /** For the SMTP front's own writes: Maildirs only (an mbox goes through the daemon). */
    readonly maildirOnly?: boolean;
  } = {},
): StartedWriter {
  const exec = Deno.execPath();
  const compiled = !/\/deno(\.exe)?$/.test(exec);
  const socket = options.connectTo;
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    ...(socket
      ? { [CHANNEL_PATH_VARIABLE]: socket.path, [CHANNEL_TOKEN_VARIABLE]: socket.token }
      : {}),
    ...(socket?.hello === undefined ? {} : { [CHANNEL_HELLO_VARIABLE]: socket.hello }),
    ...(options.maildirOnly ? { [MAILDIR_ONLY_VARIABLE]: "1" } : {}),
  };
  const main = new URL("./mailbox_writer_child_main.ts", import.meta.url).pathname;
  if (!compiled) env["DENO_DIR"] = writerModuleCache(main);
  const args = compiled ? ["mailbox.writer"] : [
    "run",
    "--quiet",
    "--no-prompt",
    WRITER_V8_FLAGS,
    "--allow-read",
    "--allow-write",
    // uid: an existing mbox must be the writer's own (mbox_open.ts).
    "--allow-sys=hostname,uid",
    `--allow-env=${CHANNEL_PATH_VARIABLE},${CHANNEL_TOKEN_VARIABLE},${CHANNEL_HELLO_VARIABLE},${MAILDIR_ONLY_VARIABLE}`,
    ...(socket ? [`--allow-net=unix:${socket.path}`] : []),
    main,
  ];
  const { program, identity } = writerCommand(user, options.program ?? exec, args);
  const process = new Deno.Command(program, {
    ...identity,
    cwd: "/",
    clearEnv: true,
    env,
    stdin: socket ? "null" : "piped",
    stdout: socket ? "null" : "piped",
    stderr: "inherit",
  }).spawn();
  return { process };
}

/**
 * How a writer is started as its user. With the user's own group, by Deno.Command's uid
 * and gid. With another (the mail spool's), through setpriv(1): real uid and gid the
 * user's, effective gid that group, no supplementary groups, as a setgid mail.local runs.
 * A process whose effective gid is not its real one at exec is made non-dumpable by the
 * kernel, so the user can neither trace it nor open its /proc/PID/mem or environ; with
 * real and effective ids all the user's, as Deno.Command sets them, the user could.
 */
function writerCommand(
  user: DeliveryUser,
  program: string,
  args: readonly string[],
): { program: string; identity: { args: string[]; uid?: number; gid?: number } } {
  if (user.realGid === undefined || user.realGid === user.gid) {
    return { program, identity: { args: [...args], uid: user.uid, gid: user.gid } };
  }
  const setpriv = findSetpriv();
  if (!setpriv) {
    throw new Error(
      `writing as ${user.name} with group ${user.gid} needs setpriv(1) (util-linux), not installed`,
    );
  }
  return {
    program: setpriv,
    identity: {
      args: [
        `--reuid=${user.uid}`,
        `--rgid=${user.realGid}`,
        `--egid=${user.gid}`,
        "--clear-groups",
        "--",
        program,
        ...args,
      ],
    },
  };
}

function safeUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
