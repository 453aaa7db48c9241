// A listener: accepts TCP connections and runs one Session per connection. Listeners are
// node:net servers so that STARTTLS can later upgrade the same socket (DESIGN.md).

import { createServer, isIP, type Server, type Socket } from "node:net";
import { StreamSocket } from "./stream_socket.ts";
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from "node:tls";
import type { Logger } from "../log/mod.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { EnvelopeFacts, RuleVerdict, SessionFacts } from "../rules/mod.ts";
import { formatReply, REPLIES } from "./replies.ts";
import { unmapIpv4 } from "../mail/mod.ts";
import { DEFAULT_LIMITS, type SmtpLimits } from "./limits.ts";
import type { DataBudget } from "./data_budget.ts";
import { Session } from "./session.ts";
import type { RdnsAnswer, SessionContext } from "./session_context.ts";
import { PendingHandshakes } from "./pending_handshakes.ts";
import { fillsMissingHeaders } from "./header_rewrite.ts";
import { type FilterPlan, type FilterSessionView, SessionFilters } from "../filters/mod.ts";
import {
  clientCertificateRefusal,
  createTlsContexts,
  type ListenerTls,
  type TlsContexts,
  upgradeToTls,
} from "./tls.ts";
import { type ProxiedPeer, readProxyHeader } from "./proxy_v2.ts";

/** Options of {@link startSmtpServer}. */
export interface SmtpListenerOptions {
  /** An IP address, or the path of a unix socket when `socketPath` is given. */
  readonly address: string;
  /** Listen on this unix socket instead (`listen on socket`: the local enqueuer). */
  readonly socketPath?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The name in the banner, EHLO reply and Received: header. */
  readonly hostname: string;
  /**
   * `listen … hostnames <t>`: the name for the local address a client reached, when the
   * table has one (else `hostname`), as OpenSMTPD's smtp_lookup_servername() picks it.
   */
  hostnameOf?(localAddress: string): string | undefined;
  readonly tag?: string;
  /** STARTTLS (optional or required) or SMTPS, with the listener's certificates. */
  readonly tls?: ListenerTls;
  /** SMTP AUTH, offered over TLS: required or optional, and the credentials check. */
  readonly auth?: SessionContext["auth"];
  /** Delay before answering a failed AUTH (default about a second, at random). */
  readonly authFailureDelayMs?: number;
  /** Offer DSN (RFC 3461); `listen … no-dsn` turns it off. Default on. */
  readonly dsn?: boolean;
  /**
   * `listen … proxy-v2`: every connection starts with a PROXY protocol v2 header naming the
   * original client, which the session then stands for (SMTPS: TLS begins after it).
   */
  readonly proxyV2?: boolean;
  /** Leave the client out of Received: (`listen … mask-src`). */
  readonly maskSource?: boolean;
  readonly limits?: Partial<SmtpLimits>;
  /** What the sessions' message data counts against (default: the process's budget). */
  readonly dataBudget?: DataBudget;
  /** Decides one recipient. */
  decide(session: SessionFacts, envelope: EnvelopeFacts): RuleVerdict | Promise<RuleVerdict>;
  /** Commits a message; resolves only once it is durable. A rejection answers 451. */
  submit(message: NewMessage): Promise<void>;
  /**
   * A queue id no message in the queue has: the transaction's id is fixed at MAIL FROM
   * (filters and the Received: line name it), so it is chosen free (default: at random).
   */
  newMsgid?(): string;
  /** Whether a client address is one of the machine's own (`from local`). */
  isLocalAddress?(ip: string): boolean;
  /** The listener's filters (`listen … filter`, `match … filter`); absent: none. */
  readonly filters?: FilterPlan;
  /** Looks up the client's reverse DNS name (`from rdns`, Received:); skipped when absent. */
  resolveRdns?(ip: string): Promise<RdnsAnswer | undefined>;
  /** While it answers true (`smtpctl pause smtp`), a new connection gets 421 and is closed. */
  paused?(): boolean;
  /** Told of each session that opens and ends (the daemon's counters). */
  onSession?(event: "open" | "close"): void;
  readonly log: Logger;
}

/** A running listener. */
export interface SmtpServer {
  readonly address: string;
  readonly port: number;
  /**
   * Stops accepting, tells open sessions 421 and closes them. With a grace period, a
   * session in the middle of a message may finish it first (its 250 once queued), for
   * at most that long.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
  /**
   * Takes a new configuration for the sessions that start from now on (a reload): rules,
   * TLS certificates, AUTH, limits. Sessions already open finish under the one they
   * started with; resolves once the last of them has ended. The address, and for SMTPS
   * the TLS mode, stay as they are (a change there is a new listener).
   */
  reconfigure(options: SmtpListenerOptions): Promise<void>;
}

// Benchmarks and real clients reconnect for every message; a short accept queue drops SYNs.
// Replies are small and come in bursts (TLS records above all): the servers are created
// with `noDelay`, which sets TCP_NODELAY on every accepted socket. A client that ends its
// side after its last command still gets every reply (`allowHalfOpen`; the session closes
// the connection itself): above all the 250 to a message whose commit was still under way.
// On SMTPS, a connection has the session timeout to finish its handshake (PendingHandshakes).
const LISTEN_BACKLOG = 511;

// How long a closing listener waits for the commits under way to answer (a commit is a
// write and an fsync to the local queue); within the privileged parent's margin for a
// stopping front (src/privsep/parent.ts).
const COMMIT_ANSWER_MS = 3_000;

/** Starts a listener. */
export function startSmtpServer(options: SmtpListenerOptions): Promise<SmtpServer> {
  const sockets = new Set<Socket>();
  // Each running session and the promise of its end.
  const sessions = new Map<Session, Promise<void>>();
  // What new sessions start with; a reload replaces it, open sessions keep theirs.
  let current = listenerState(options);
  const perClient = new Map<string, number>();
  const contexts = current.contexts;
  const smtps = options.tls?.mode === "smtps" && contexts !== undefined;
  const handshakes = smtps ? new PendingHandshakes(current.limits.idleTimeoutMs) : undefined;
  const accept = (socket: Socket, peer?: ProxiedPeer) => {
    handshakes?.started(socket);
    const { ctx, limits, options } = current;
    const client = peer?.address ?? socket.remoteAddress ?? "";
    const fromClient = perClient.get(client) ?? 0;
    // The machine's own addresses are not held to the per-client cap (as Postfix exempts
    // mynetworks): local submission and benchmarks open many sessions from one address.
    const capped = !ctx.isLocalAddress(unmapIpv4(client)) &&
      fromClient >= limits.maxSessionsPerClient;
    if (options.paused?.()) {
      options.log.info(`smtp-in: refused connection from ${client}: smtp is paused`);
      socket.on("error", () => {});
      socket.end(formatReply(REPLIES.paused));
      return;
    }
    if (sockets.size >= limits.maxSessions || capped) {
      // Over a cap: say so and close, without a session.
      options.log.info(`smtp-in: refused connection from ${client}: too many sessions`);
      socket.on("error", () => {});
      socket.end(formatReply(REPLIES.tooManySessions));
      return;
    }
    sockets.add(socket);
    perClient.set(client, fromClient + 1);
    options.onSession?.("open");
    socket.on("close", () => {
      options.onSession?.("close");
      sockets.delete(socket);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
    const named = options.hostnameOf?.(unmapIpv4(socket.localAddress ?? ""));
    const session = new Session(socket, named ? { ...ctx, hostname: named } : ctx, peer);
    sessions.set(session, session.run().finally(() => sessions.delete(session)));
  };
  // SMTPS: the session starts once the handshake is done and, on a `verify` listener, the
  // client's certificate checked; a refused client gets no banner, as a failed libtls
  // handshake gives none.
  const admitTls = (secure: TLSSocket, tls: TlsContexts, peer?: ProxiedPeer) => {
    const refusal = clientCertificateRefusal(secure, tls);
    if (!refusal) return accept(secure, peer);
    const client = peer?.address ?? secure.remoteAddress ?? "";
    current.options.log.info(
      `smtp-in: refused connection from ${client}: client certificate refused: ${refusal}`,
    );
    secure.on("error", () => {});
    secure.destroy();
  };
  // SMTPS on a plain server (behind a proxy, or verifying clients).
  const acceptTls = (raw: Socket, peer?: ProxiedPeer) => {
    const tls = current.contexts ?? contexts;
    if (!tls) return raw.destroy();
    const secure = upgradeToTls(raw, tls);
    secure.once("secure", () => admitTls(secure, tls, peer));
    secure.once("error", () => raw.destroy());
  };
  // Behind a proxy the header comes first, then the session. Read per connection, so a
  // reload that adds or drops `proxy-v2` applies to the next one.
  const acceptPlain = (raw: Socket) => {
    if (!current.options.proxyV2) return smtps ? acceptTls(raw) : accept(raw);
    readProxyHeader(raw, current.limits.idleTimeoutMs).then((header) => {
      const peer = header.kind === "proxy" ? header.peer : undefined;
      if (smtps) acceptTls(raw, peer);
      else accept(raw, peer);
    }, (error: Error) => {
      current.options.log.info(
        `proxy event=closed address=${raw.remoteAddress ?? ""} reason="${error.message}"`,
      );
      raw.destroy();
    });
  };
  // SMTPS: TLS from the first byte; otherwise plain, upgraded by STARTTLS when offered.
  // `smtps verify` is a plain server upgrading each connection, so that its clients are
  // checked as STARTTLS ones are: Deno's TLS server checks them with a verifier of its own,
  // which refuses X.509 version 1 certificates that OpenSSL takes (and without an
  // SNICallback fails every handshake that asks for a certificate).
  const server: Server = smtps && !options.proxyV2 && !contexts.verifyClient
    ? createTlsServer({
      noDelay: true,
      allowHalfOpen: true,
      secureContext: contexts.secureContext,
      // Through the current contexts, so a reload's certificates serve new handshakes.
      SNICallback: (name, done) => (current.contexts ?? contexts).SNICallback(name, done),
    }, (secure: TLSSocket) => admitTls(secure, current.contexts ?? contexts))
    : createServer({ noDelay: true, allowHalfOpen: true }, acceptPlain);
  // Every accepted connection, sessions or not yet (an SMTPS client before its handshake),
  // so that closing the listener ends them all.
  const connections = new Set<Socket>();
  server.on("connection", (raw: Socket) => {
    connections.add(raw);
    handshakes?.add(raw);
    raw.once("close", () => connections.delete(raw));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const where = options.socketPath
      ? { path: options.socketPath, backlog: LISTEN_BACKLOG }
      // OpenSMTPD sets IPV6_V6ONLY on its IPv6 sockets (smtp.c): `listen on any inet6`
      // binds `::` for IPv6 clients alone, IPv4 ones having listeners of their own.
      : {
        host: options.address,
        port: options.port,
        backlog: LISTEN_BACKLOG,
        ipv6Only: isIP(options.address) === 6,
      };
    if (options.socketPath) removeStaleSocket(options.socketPath);
    server.listen(where, () => {
      server.off("error", reject);
      server.on("error", (error) => options.log.warn(`smtp-in: listener: ${error.message}`));
      const bound = server.address();
      const port = typeof bound === "object" && bound ? bound.port : options.port;
      resolve({
        address: options.socketPath ?? options.address,
        port,
        close: (options) =>
          closeServer(server, { sockets, connections, sessions }, options?.graceMs ?? 0),
        reconfigure: (next) => {
          const before = [...sessions.values()];
          if (smtps && next.proxyV2 && !options.proxyV2) {
            next.log.warn(
              `smtp-in: ${options.address} port ${port}: proxy-v2 on an SMTPS listener takes effect at the next start`,
            );
          }
          // Until then a TLS server asks for no certificate: every client is refused.
          if (smtps && next.tls?.verifyClient && !contexts.verifyClient && !options.proxyV2) {
            next.log.warn(
              `smtp-in: ${options.address} port ${port}: verify on an SMTPS listener takes effect at the next start; until then its clients are refused`,
            );
          }
          current = listenerState(next);
          // An SMTPS handshake without SNI uses the server's own context: the new one.
          const first = next.tls?.certificates[0];
          if (next.tls?.mode === "smtps" && first && "setSecureContext" in server) {
            (server as TlsServer).setSecureContext({
              cert: first.cert,
              key: first.key,
              minVersion: "TLSv1.2",
              ...(next.tls.ca ? { ca: next.tls.ca } : {}),
            });
          }
          return Promise.all(before).then(() => undefined);
        },
      });
    });
  });
}

// The options of a listener turned into what its sessions share.
function listenerState(options: SmtpListenerOptions) {
  const limits: SmtpLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const contexts = options.tls
    ? createTlsContexts(options.tls.certificates, options.tls)
    : undefined;
  return { options, limits, contexts, ctx: sessionContext(options, limits, contexts) };
}

async function closeServer(
  server: Server,
  open: {
    readonly sockets: Set<Socket>;
    readonly connections: Set<Socket>;
    readonly sessions: Map<Session, Promise<void>>;
  },
  graceMs: number,
): Promise<void> {
  const { sockets, connections, sessions } = open;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (graceMs > 0 && sessions.size > 0) {
    for (const session of sessions.keys()) session.shutdown();
    await drained([...sessions.values()], graceMs);
  }
  // Every session left gets its 421 now, but one whose message is being committed gets the
  // commit's answer first; one still without it after a while is closed unanswered.
  for (const session of sessions.keys()) session.stop();
  const answering = [...sessions].filter(([session]) => session.committingData);
  await drained(answering.map(([, end]) => end), COMMIT_ANSWER_MS);
  await new Promise<void>((resolve) => {
    closed.then(resolve);
    // Give the replies a moment to go out, then make sure nothing lingers; connections
    // without a session (an SMTPS handshake not done) have nothing to say.
    setTimeout(() => {
      for (const socket of sockets) socket.destroy();
      for (const raw of connections) raw.destroy();
    }, 100);
  });
}

function defaultIsLocal(ip: string): boolean {
  return ip === "127.0.0.1" || ip === "::1";
}

// Resolves once every session has ended, or when the grace period is over.
async function drained(ends: Promise<void>[], graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const over = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
  await Promise.race([Promise.all(ends), over]);
  clearTimeout(timer);
}

// A socket file left by a daemon that did not stop cleanly would make listen() fail.
function removeStaleSocket(path: string): void {
  try {
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch {
    // Nothing there.
  }
}

// What every session of a listener shares.
function sessionContext(
  options: SmtpListenerOptions,
  limits: SmtpLimits,
  contexts?: ReturnType<typeof createTlsContexts>,
): SessionContext {
  return {
    hostname: options.hostname,
    ...(options.tls && contexts ? { tls: { mode: options.tls.mode, contexts } } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.dsn === false ? { dsn: false } : {}),
    ...(options.maskSource ? { maskSource: true } : {}),
    ...(options.socketPath ? { unixSocket: true } : {}),
    ...(fillsMissingHeaders(options) ? { fillsMissingHeaders: true } : {}),
    ...(options.authFailureDelayMs === undefined
      ? {}
      : { authFailureDelayMs: options.authFailureDelayMs }),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    limits,
    ...(options.dataBudget ? { dataBudget: options.dataBudget } : {}),
    decide: options.decide,
    submit: options.submit,
    ...(options.newMsgid ? { newMsgid: options.newMsgid } : {}),
    isLocalAddress: options.isLocalAddress ?? defaultIsLocal,
    ...(options.resolveRdns ? { resolveRdns: options.resolveRdns } : {}),
    ...(options.filters ? { openFilters: openFilters(options.filters, options.log) } : {}),
    log: options.log,
  };
}

/**
 * One session over a stream pair that is not a socket: `sendmail -bs` speaks SMTP on its
 * standard input and output. The client is local, as on the enqueue socket.
 */
export async function runSmtpOnStreams(
  options: Omit<SmtpListenerOptions, "address" | "port" | "tls" | "socketPath">,
  input: ReadableStream<Uint8Array>,
  write: (data: Uint8Array) => void,
): Promise<void> {
  const limits: SmtpLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const ctx = sessionContext({ ...options, address: "local", port: 0 }, limits);
  const socket = new StreamSocket(input, write);
  const local = { unixSocket: true, fillsMissingHeaders: true } as const;
  await new Session(socket as unknown as Socket, { ...ctx, ...local }).run();
  socket.destroy();
}

function openFilters(plan: FilterPlan, log: Logger): (view: FilterSessionView) => SessionFilters {
  return (view) => new SessionFilters(plan, view, log);
}
