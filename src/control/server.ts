// The daemon's side of the local socket: listens on smtpd.sock (0666) in the offline
// directory, greets each connection with a one-time challenge, checks who the peer is
// (peer_identity.ts), and answers one request: a submission, or an smtpctl command (a
// privileged one, the queue listing among them, only for root or whom `mayControl` names).

import { type Logger, profile, trace } from "../log/mod.ts";
import { errorMessage, EX, randomHex } from "../mail/mod.ts";
import { verifyProof } from "./peer_identity.ts";
import { CONTROL_PROTOCOL_VERSION, FrameReader, writeFrame } from "./protocol.ts";
import { SOCKET_MODE } from "./paths.ts";
import { type ControlAnswer, type ControlRequest, parseControlRequest } from "./control_request.ts";
import { UNPRIVILEGED_COMMANDS } from "./command_grammar.ts";
import { type LocalSubmission, parseSubmission } from "./submission.ts";

/** A submission as the daemon receives it: who sent it, and what. */
export interface ReceivedSubmission {
  readonly submission: LocalSubmission;
  readonly input: Uint8Array;
  /** The submitter's uid, as the kernel recorded it on the proof file. */
  readonly uid: number;
}

/** What the daemon does for the socket's requests. */
export interface ControlHandlers {
  /** Queues a submission; resolves with the sysexits(3) code and the id or the reason. */
  submit(request: ReceivedSubmission): Promise<{ exit: number; msgid?: string; error?: string }>;
  /** Runs an smtpctl command for a peer whose uid was proven; absent: none are served. */
  control?(request: ControlRequest & { readonly uid: number }): Promise<ControlAnswer>;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /** The socket path (controlSocketPath()). */
  readonly path: string;
  /** Where peers write their proofs: the offline directory the socket is in. */
  readonly offlineDir: string;
  readonly handlers: ControlHandlers;
  /** The largest message accepted, in bytes. */
  readonly maxBody: number;
  readonly log: Logger;
  /** How long a peer may take to send its request, ms. */
  readonly requestTimeoutMs?: number;
  /** Whether a peer's uid may run privileged commands (default: root's alone). */
  readonly mayControl?: (uid: number) => boolean;
}

/** A listening control socket. */
export interface ControlServer {
  /** Stops accepting, lets the requests being answered finish, removes the socket. */
  close(): Promise<void>;
}

/** Listens on the socket, replacing a stale one (or another user's, as the directory's owner). */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { path, log } = options;
  const listener = await listenReplacing(path, log);
  await Deno.chmod(path, SOCKET_MODE);
  const inFlight = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const done = answer(conn, options).catch((error) => {
        log.warn(`control: request failed: ${errorMessage(error)}`);
      }).finally(() => {
        inFlight.delete(done);
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      });
      inFlight.add(done);
    }
  })().catch(() => {});
  return {
    async close() {
      listener.close();
      await accepting;
      await Promise.all(inFlight);
      await Deno.remove(path).catch(() => {});
    },
  };
}

async function listenReplacing(path: string, log: Logger): Promise<Deno.Listener> {
  for (let attempt = 0;; attempt++) {
    const existing = await Deno.lstat(path).catch(() => undefined);
    if (existing) {
      if (existing.uid !== Deno.uid()) {
        log.warn(`control: ${path} belonged to uid ${existing.uid}: replaced`);
      }
      await Deno.remove(path);
    }
    try {
      return Deno.listen({ transport: "unix", path });
    } catch (error) {
      // Someone made the name again between the removal and the bind: try again.
      if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 5) throw error;
    }
  }
}

async function answer(conn: Deno.Conn, options: ControlServerOptions): Promise<void> {
  const challenge = randomHex(16);
  const timer = closeAfter(conn, options.requestTimeoutMs ?? 120_000);
  try {
    await writeFrame(conn, {
      kind: "hello",
      version: CONTROL_PROTOCOL_VERSION,
      challenge,
      maxBytes: options.maxBody,
    });
    const request = await new FrameReader(conn, options.maxBody).read().catch((error) => {
      throw new Error(`unreadable request: ${errorMessage(error)}`);
    });
    clearTimeout(timer);
    const kind = request.header["kind"];
    if (kind === "submit") {
      await writeFrame(conn, await submit(request.header, request.body, challenge, options));
    } else if (kind === "control") {
      const result = await control(request.header, challenge, options);
      await writeControlAnswer(conn, result, request.header["paged"] === true, options);
    } else {
      await writeFrame(conn, {
        kind: "error",
        exit: EX.USAGE,
        error: `unknown request ${JSON.stringify(kind)}`,
      });
    }
  } finally {
    clearTimeout(timer);
  }
}

// An answer with pages: one frame a page to a client that reads them (`paged: true`),
// else all of them in one frame (the whole listing must then fit its size limit).
async function writeControlAnswer(
  conn: Deno.Conn,
  result: Record<string, unknown> & { pages?: Iterable<readonly unknown[]> },
  paged: boolean,
  options: ControlServerOptions,
): Promise<void> {
  const { pages, ...answer } = result;
  if (pages === undefined) return await writeFrame(conn, answer);
  const data = (answer["data"] ?? {}) as Record<string, unknown>;
  if (!paged) {
    return await writeFrame(conn, { ...answer, data: { ...data, envelopes: [...pages].flat() } });
  }
  const timer = closeAfter(conn, options.requestTimeoutMs ?? 120_000);
  try {
    for (const page of pages) {
      await writeFrame(conn, { ...answer, data: { ...data, envelopes: page }, more: true });
    }
    await writeFrame(conn, { ...answer, data: { ...data, envelopes: [] } });
  } finally {
    clearTimeout(timer);
  }
}

async function submit(
  header: Record<string, unknown>,
  body: Uint8Array | undefined,
  challenge: string,
  options: ControlServerOptions,
): Promise<Record<string, unknown>> {
  let uid: number;
  try {
    uid = await verifyProof(options.offlineDir, challenge);
  } catch (error) {
    return { kind: "result", exit: EX.NOPERM, error: errorMessage(error) };
  }
  let submission: LocalSubmission;
  try {
    submission = parseSubmission(header["submission"]);
  } catch (error) {
    return { kind: "result", exit: EX.USAGE, error: errorMessage(error) };
  }
  if (body === undefined) return { kind: "result", exit: EX.USAGE, error: "no message was sent" };
  return { kind: "result", ...(await options.handlers.submit({ submission, input: body, uid })) };
}

// smtpctl(8): privileged commands are root's ("need root privileges"), and here also those
// of the daemon's own user and of `control group`'s members.
async function control(
  header: Record<string, unknown>,
  challenge: string,
  options: ControlServerOptions,
): Promise<Record<string, unknown>> {
  const answer = (a: ControlAnswer) => ({ kind: "control-result", ...a });
  let uid: number;
  try {
    uid = await verifyProof(options.offlineDir, challenge);
  } catch (error) {
    return answer({ exit: 1, error: errorMessage(error) });
  }
  let request: ControlRequest;
  try {
    request = parseControlRequest(header);
  } catch (error) {
    return answer({ exit: 1, error: errorMessage(error) });
  }
  if (!UNPRIVILEGED_COMMANDS.has(request.command)) {
    let allowed: boolean;
    try {
      allowed = (options.mayControl ?? ((peer) => peer === 0))(uid);
    } catch (error) {
      options.log.warn(`control: uid ${uid} refused "${request.command}": ${errorMessage(error)}`);
      return answer({ exit: 1, error: "need root privileges" });
    }
    if (!allowed) {
      options.log.warn(
        `control: uid ${uid} refused "${request.command}": not root nor of the control group`,
      );
      return answer({ exit: 1, error: "need root privileges" });
    }
  }
  if (!options.handlers.control) return answer({ exit: 1, error: "no control commands here" });
  const control = options.handlers.control;
  trace("imsg", () => `control: uid ${uid} "${request.command}" ${request.params.join(" ")}`);
  return answer(
    await profile("imsg", `control.${request.command}`, () => control({ ...request, uid })),
  );
}

// A request that takes longer than this is cut off: its connection is closed.
function closeAfter(conn: Deno.Conn, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, ms);
}
