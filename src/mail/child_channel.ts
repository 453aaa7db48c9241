// The channel between the privileged parent and a child it starts (the SMTP front, a
// mailbox writer): a unix socket rather than the child's standard input and output. The
// runtime reads and writes its own standard streams by a call in a thread each, a socket
// on its event loop: a request and its answer cost the child 90-110 µs of CPU over its
// standard streams and 25-33 µs over a socket (bench/channel_cost.ts, bench/RESULTS.md).
//
// The parent listens in a directory of its own (its owner's, 0711), on a socket that only
// the child's uid may connect to (0600, the child's). The child finds the path and a
// random token in its environment and sends the token first; the parent takes the first
// connection that sends it and removes the socket. A parent the runtime does not let
// listen on a unix socket (`--allow-net` naming only addresses) keeps the standard
// streams: its children find no path in their environment.
//
// Each end reads and writes the connection through the streams below: the runtime's own
// streams of a connection close all of it at the end of either, and each end here still
// answers after the other has said it is done (a half close).

import { randomHex } from "./ids.ts";

/** The variable that names the socket to the child. */
export const CHANNEL_PATH_VARIABLE = "SMTPD_CHANNEL";
/** The variable that holds the token the child sends first. */
export const CHANNEL_TOKEN_VARIABLE = "SMTPD_CHANNEL_TOKEN";
/**
 * The variable that holds what the peer must say before the child sends anything, for a
 * socket in a directory the child's starter does not own (offerChannelIn()).
 */
export const CHANNEL_HELLO_VARIABLE = "SMTPD_CHANNEL_HELLO";

/** How long a child waits for the peer's hello. */
const HELLO_WAIT_MS = 10_000;

/** A socket waiting for its child. */
export interface ChannelOffer {
  /** The socket's path (for the child's permissions). */
  readonly path: string;
  /** What the child sends first (32 hex digits). */
  readonly token: string;
  /** What this end says first on each connection, before the token is read (offerChannelIn()). */
  readonly hello?: string;
  /** The variables that tell the child where to connect. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The child's connection, once it has sent the token; undefined when `gone` settles
   * first (the child exited without connecting). The socket is removed either way.
   */
  accept(gone: Promise<unknown>): Promise<Deno.UnixConn | undefined>;
  /** Stops listening and removes the socket (a child that never started). */
  close(): void;
}

const encoder = new TextEncoder();

/**
 * Listens for the child that will run as `owner`; undefined when this process may not
 * listen on a unix socket (the child then talks on its standard input and output).
 */
export function offerChannel(
  owner: { readonly uid: number; readonly gid: number },
): ChannelOffer | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "smtpd-channel-" });
  const path = `${dir}/channel`;
  let listener: Deno.UnixListener | undefined;
  try {
    Deno.chmodSync(dir, 0o711);
    listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, 0o600);
    Deno.chownSync(path, owner.uid, owner.gid);
  } catch (error) {
    listener?.close();
    Deno.removeSync(dir, { recursive: true });
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
  return offerOn(listener, path, () => Deno.removeSync(dir, { recursive: true }));
}

/**
 * Listens in `dir` for a child another process starts (the parent starts a mailbox writer
 * that connects to the unprivileged front): this process may not give the socket to the
 * child's uid, so any uid may connect (0666) and only the first connection that sends the
 * token is taken. `dir` is this process's own and not listable by others (0711), and the
 * socket's name is random. Each connection is first told the offer's `hello`, which the
 * child waits for before it sends anything: this process could replace the socket by a
 * link to another one between the starter's check and the child's connect, and a child
 * that reached some other socket so says nothing there and exits.
 */
export function offerChannelIn(dir: string): ChannelOffer {
  const path = `${dir}/${randomHex(16)}.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    Deno.chmodSync(path, 0o666);
  } catch (error) {
    listener.close(); // which removes the socket
    throw error;
  }
  return offerOn(listener, path, () => Deno.removeSync(path), randomHex(16));
}

// The offer of a listening socket; `remove` takes the socket (and its directory) away.
function offerOn(
  server: Deno.UnixListener,
  path: string,
  remove: () => void,
  hello?: string,
): ChannelOffer {
  const token = randomHex(16);
  let closed = false;
  // Connections still to send their token: one that says nothing holds up no other.
  const checking = new Set<Deno.UnixConn>();
  const close = () => {
    if (closed) return;
    closed = true;
    server.close();
    for (const conn of checking) conn.close();
    checking.clear();
    try {
      remove();
    } catch {
      // Already gone.
    }
  };
  const expected = encoder.encode(`${token}\n`);
  const firstWithToken = () =>
    new Promise<Deno.UnixConn | undefined>((resolve) => {
      const check = async (conn: Deno.UnixConn) => {
        checking.add(conn);
        const greeted = hello === undefined ||
          await writeAll(conn, encoder.encode(`${hello}\n`)).then(() => true, () => false);
        const sent = greeted && await sendsToken(conn, expected);
        if (!checking.delete(conn)) return; // closed meanwhile
        if (sent && !closed) resolve(conn);
        else conn.close();
      };
      (async () => {
        while (!closed) {
          try {
            void check(await server.accept());
          } catch {
            break; // Closed: the child connected, or is gone.
          }
        }
        resolve(undefined);
      })();
    });
  return {
    path,
    token,
    ...(hello === undefined ? {} : { hello }),
    env: {
      [CHANNEL_PATH_VARIABLE]: path,
      [CHANNEL_TOKEN_VARIABLE]: token,
      ...(hello === undefined ? {} : { [CHANNEL_HELLO_VARIABLE]: hello }),
    },
    async accept(gone) {
      const childGone = gone.then(() => undefined, () => undefined);
      try {
        return await Promise.race([firstWithToken(), childGone]);
      } finally {
        close();
      }
    },
    close,
  };
}

// A write of every byte (a socket may take part of it).
async function writeAll(conn: Deno.UnixConn, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.byteLength;) offset += await conn.write(data.subarray(offset));
}

// Reads exactly the token's bytes, so that nothing the child sends after it is taken.
async function sendsToken(conn: Deno.UnixConn, expected: Uint8Array): Promise<boolean> {
  const got = new Uint8Array(expected.byteLength);
  let filled = 0;
  try {
    while (filled < got.byteLength) {
      const n = await conn.read(got.subarray(filled));
      if (n === null) return false;
      filled += n;
    }
  } catch {
    return false;
  }
  return got.every((byte, i) => byte === expected[i]);
}

/** One end of the channel, as streams. */
export interface ChannelStreams {
  readonly readable: ReadableStream<Uint8Array>;
  /** Closing it ends this side's writing only. */
  readonly writable: WritableStream<Uint8Array>;
  /** Lets the connection go once both streams are done with. */
  close(): Promise<void>;
}

/**
 * The parent's end for a child it started with `offer` (undefined: on the child's
 * standard input and output, which must be piped). Streams used before the child has
 * connected wait for it; a child that exits first ends them.
 */
export function childChannel(
  child: Deno.ChildProcess,
  offer: ChannelOffer | undefined,
): ChannelStreams {
  if (!offer) {
    return { readable: child.stdout, writable: child.stdin, close: () => Promise.resolve() };
  }
  return acceptedChannel(offer, child.status);
}

/**
 * This end of the channel `offer` makes with a child that is to connect before `gone`
 * settles (for a child another process started); `connected` says whether it did.
 */
export function acceptedChannel(
  offer: ChannelOffer,
  gone: Promise<unknown>,
): ChannelStreams & { readonly connected: Promise<boolean> } {
  const conn = offer.accept(gone);
  return {
    readable: channelReadable(conn),
    writable: channelWritable(conn),
    close: () => closeChannel(conn),
    connected: conn.then((open) => open !== undefined),
  };
}

/** How a child's standard input and output are set up for `offer` (see childChannel()). */
export function channelStdio(
  offer: ChannelOffer | undefined,
): { stdin: "piped" | "null"; stdout: "piped" | "null" } {
  return offer ? { stdin: "null", stdout: "null" } : { stdin: "piped", stdout: "piped" };
}

/**
 * The child's end: the socket its environment names, once connected and the token sent;
 * its standard input and output when the environment names none.
 */
export async function parentChannel(): Promise<ChannelStreams> {
  const path = Deno.env.get(CHANNEL_PATH_VARIABLE);
  if (!path) {
    return {
      readable: Deno.stdin.readable,
      writable: Deno.stdout.writable,
      close: () => Promise.resolve(),
    };
  }
  const conn = await connectToParent(
    path,
    Deno.env.get(CHANNEL_TOKEN_VARIABLE) ?? "",
    helloFromEnvironment(),
  );
  return {
    readable: channelReadable(conn),
    writable: channelWritable(conn),
    close: () => closeChannel(conn),
  };
}

// The hello a child waits for; a child not let read the variable (the SMTP front, whose
// parent listens in a directory of its own) is given none.
function helloFromEnvironment(): string | undefined {
  try {
    return Deno.env.get(CHANNEL_HELLO_VARIABLE);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Connects to the parent's socket and sends the token; with `hello`, only once the peer
 * has said it (else nothing is sent, and this throws).
 */
export async function connectToParent(
  path: string,
  token: string,
  hello?: string,
): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path });
  if (hello !== undefined && !await saysHello(conn, encoder.encode(`${hello}\n`))) {
    conn.close();
    throw new Error(`${path} is not the daemon's: it did not greet as expected`);
  }
  await writeAll(conn, encoder.encode(`${token}\n`));
  return conn;
}

// Exactly the hello's bytes, in time: a peer that says anything else, or nothing, is not it.
async function saysHello(conn: Deno.UnixConn, expected: Uint8Array): Promise<boolean> {
  const timer = setTimeout(() => conn.close(), HELLO_WAIT_MS);
  try {
    return await sendsToken(conn, expected);
  } finally {
    clearTimeout(timer);
  }
}

/** Said by a stream of a connection that never came (the child exited first). */
const NO_CONNECTION = "the channel was never connected";

/**
 * The connection's input as a byte stream, ending at the peer's end of writing; the
 * connection stays open for writing. Reads wait for the connection if it is to come.
 */
export function channelReadable(
  conn: Deno.UnixConn | Promise<Deno.UnixConn | undefined>,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 65536,
    async pull(controller) {
      const request = controller.byobRequest;
      const view = request?.view;
      if (!request || !view) return;
      const open = await conn;
      const n = open
        ? await open.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
        : null;
      if (n === null) {
        controller.close();
        request.respond(0);
      } else {
        request.respond(n);
      }
    },
  });
}

/**
 * The connection's output as a stream; closing it ends the writing side only (the peer
 * reads its end, and may still answer). Writes wait for the connection if it is to come.
 */
export function channelWritable(
  conn: Deno.UnixConn | Promise<Deno.UnixConn | undefined>,
): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(chunk) {
      const open = await conn;
      if (!open) throw new Error(NO_CONNECTION);
      await writeAll(open, chunk);
    },
    async close() {
      const open = await conn;
      await open?.closeWrite().catch(() => {});
    },
  });
}

/** Closes the connection, if it came and is still open. */
export async function closeChannel(
  conn: Deno.UnixConn | Promise<Deno.UnixConn | undefined>,
): Promise<void> {
  try {
    (await conn)?.close();
  } catch {
    // Closed already.
  }
}
