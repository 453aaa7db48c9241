// One SMTP or LMTP client connection (RFC 5321, RFC 2033): greeting, EHLO/LHLO with HELO
// as the fallback, STARTTLS, AUTH, then any number of transactions (MAIL, RCPT…, DATA,
// RSET) until QUIT. It returns the server's replies; deciding what they mean is the caller's.

import { connect as netConnect, type Socket } from "node:net";
import { authenticate, type Credentials } from "./auth.ts";
import { type Capabilities, NO_CAPABILITIES, parseCapabilities } from "./capabilities.ts";
import { Channel, ChannelError } from "./channel.ts";
import { dotStuff } from "./dot_stuff.ts";
import { isPositive, readReply, type Reply, replyText } from "./reply.ts";
import { trace } from "../log/mod.ts";
import { type ClientTimeouts, RFC5321_TIMEOUTS } from "./timeouts.ts";
import { type ClientTls, handshake, type TlsSummary } from "./tls.ts";

/**
 * A host dialled by name whose name the system's resolver gave no address for (or could
 * not answer for): nothing was connected to.
 */
export class HostNotFoundError extends ChannelError {
  constructor(message: string) {
    super(message);
    this.name = "HostNotFoundError";
  }
}

/** Where to connect: an address and port, or a unix socket. */
export type ClientTarget =
  | {
    readonly transport: "tcp";
    /** The address (or name) to dial. */
    readonly host: string;
    readonly port: number;
    /** The local address to connect from (`src`). */
    readonly localAddress?: string;
  }
  | { readonly transport: "unix"; readonly path: string };

/** How to open a connection. */
export interface ClientOptions {
  readonly protocol: "smtp" | "lmtp";
  /** TLS from the first byte (smtps); TCP targets only. */
  readonly implicitTls?: ClientTls;
  readonly timeouts?: Partial<ClientTimeouts>;
}

// Waiting long for the goodbye of a finished dialogue gains nothing.
const QUIT_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

/** An open dialogue with one server. */
export class ClientConnection {
  readonly #channel: Channel;
  readonly #protocol: "smtp" | "lmtp";
  readonly #timeouts: ClientTimeouts;
  #capabilities: Capabilities = NO_CAPABILITIES;
  #tls: TlsSummary | undefined;
  #accepted = 0;
  /** The address actually connected to ("127.0.0.1:25" or the socket path). */
  readonly peer: string;

  private constructor(
    channel: Channel,
    options: ClientOptions,
    timeouts: ClientTimeouts,
    peer: string,
    tls: TlsSummary | undefined,
  ) {
    this.#channel = channel;
    this.#protocol = options.protocol;
    this.#timeouts = timeouts;
    this.peer = peer;
    this.#tls = tls;
  }

  /** Connects (and, for smtps, completes the handshake); throws a ChannelError if it cannot. */
  static async open(target: ClientTarget, options: ClientOptions): Promise<ClientConnection> {
    const timeouts = { ...RFC5321_TIMEOUTS, ...options.timeouts };
    if (target.transport === "tcp") {
      checkNetPermission(target.host, target.port, "connect to");
      if (target.localAddress !== undefined) {
        checkNetPermission(target.localAddress, 0, "connect from");
      }
    }
    if (target.transport === "tcp" && options.implicitTls) {
      const { socket, summary } = await handshake(
        { host: target.host, port: target.port, ...localAddress(target) },
        options.implicitTls,
        timeouts.connect,
      );
      return new ClientConnection(new Channel(socket), options, timeouts, peerOf(socket), summary);
    }
    const socket = await connectSocket(target, timeouts.connect);
    const peer = target.transport === "unix" ? target.path : peerOf(socket);
    return new ClientConnection(new Channel(socket), options, timeouts, peer, undefined);
  }

  /** The address this end of the connection has (the source the server sees). */
  get localAddress(): string | undefined {
    return this.#channel.socket.localAddress;
  }

  /** What the last EHLO/LHLO announced (nothing after HELO or STARTTLS). */
  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** The TLS session, once there is one. */
  get tls(): TlsSummary | undefined {
    return this.#tls;
  }

  /** The server's greeting (220 expected). */
  async greeting(): Promise<Reply> {
    return this.#traced(await readReply(this.#channel, this.#timeouts.greeting));
  }

  /**
   * EHLO (LHLO for LMTP); an SMTP server that refuses EHLO with a 5xx gets HELO
   * (RFC 5321 §4.1.4). Records the capabilities of a positive reply.
   */
  async hello(name: string): Promise<Reply> {
    const verb = this.#protocol === "lmtp" ? "LHLO" : "EHLO";
    let reply = await this.#command(`${verb} ${name}`, this.#timeouts.command);
    if (isPositive(reply)) {
      this.#capabilities = parseCapabilities(reply.lines);
      return reply;
    }
    this.#capabilities = NO_CAPABILITIES;
    if (this.#protocol === "smtp" && reply.code >= 500) {
      reply = await this.#command(`HELO ${name}`, this.#timeouts.command);
    }
    return reply;
  }

  /**
   * STARTTLS (RFC 3207): the refusal if the server refuses, else undefined once the
   * handshake is done. Throws TlsHandshakeError when the handshake fails. Capabilities are
   * forgotten (§4.2): the caller says EHLO again.
   */
  async startTls(tls: ClientTls): Promise<Reply | undefined> {
    const reply = await this.#command("STARTTLS", this.#timeouts.command);
    if (reply.code !== 220) return reply;
    // Anything already sent after the 220 came in clear and would be read as if protected.
    if (this.#channel.buffered > 0) {
      this.close();
      throw new ChannelError("the server sent data after its STARTTLS reply");
    }
    const plain = this.#channel.detach();
    try {
      const { socket, summary } = await handshake({ socket: plain }, tls, this.#timeouts.connect);
      this.#channel.upgrade(socket);
      this.#tls = summary;
    } catch (error) {
      plain.destroy();
      throw error;
    }
    this.#capabilities = NO_CAPABILITIES;
    return undefined;
  }

  /** AUTH with the best mechanism offered; undefined when none of ours is. */
  async authenticate(credentials: Credentials): Promise<Reply | undefined> {
    return await authenticate(
      this.#channel,
      this.#capabilities.authMechanisms,
      credentials,
      this.#timeouts.command,
    );
  }

  /** MAIL FROM:<sender> with optional ESMTP parameters. */
  async mail(sender: string, parameters: readonly string[] = []): Promise<Reply> {
    this.#accepted = 0;
    const extra = parameters.length > 0 ? ` ${parameters.join(" ")}` : "";
    return await this.#command(`MAIL FROM:<${sender}>${extra}`, this.#timeouts.mail);
  }

  /** RCPT TO:<recipient>; the accepted ones are counted for LMTP's replies to DATA. */
  async rcpt(recipient: string, parameters: readonly string[] = []): Promise<Reply> {
    const extra = parameters.length > 0 ? ` ${parameters.join(" ")}` : "";
    const reply = await this.#command(`RCPT TO:<${recipient}>${extra}`, this.#timeouts.rcpt);
    if (isPositive(reply)) this.#accepted++;
    return reply;
  }

  /**
   * MAIL and every RCPT in one write when the server offers PIPELINING (RFC 2920 §3.1),
   * one at a time otherwise; their replies in order. DATA is left to the caller, who sends
   * it only when some recipient was accepted.
   */
  async envelope(
    sender: string,
    parameters: readonly string[],
    recipients: readonly string[],
    rcptParameters: readonly (readonly string[] | undefined)[] = [],
    options: { readonly data?: boolean } = {},
  ): Promise<{ readonly mail: Reply; readonly rcpts: Reply[]; readonly dataStart?: Reply }> {
    if (!this.#capabilities.pipelining) {
      const mail = await this.mail(sender, parameters);
      const rcpts: Reply[] = [];
      if (isPositive(mail)) {
        for (const [i, r] of recipients.entries()) {
          rcpts.push(await this.rcpt(r, rcptParameters[i]));
        }
      }
      return { mail, rcpts };
    }
    this.#accepted = 0;
    const extra = parameters.length > 0 ? ` ${parameters.join(" ")}` : "";
    const lines = [
      `MAIL FROM:<${sender}>${extra}`,
      ...recipients.map((r, i) => {
        const extra = rcptParameters[i]?.length ? ` ${rcptParameters[i]!.join(" ")}` : "";
        return `RCPT TO:<${r}>${extra}`;
      }),
      // RFC 2920 §3.1: DATA may end the group; its reply follows the RCPTs'.
      ...(options.data && this.#protocol === "smtp" ? ["DATA"] : []),
    ];
    if (lines.some((l) => /[\r\n]/.test(l))) {
      throw new ChannelError("a command may not contain CR or LF");
    }
    for (const line of lines) trace("mta", () => `${this.peer}: >>> ${line}`);
    await this.#channel.write(
      encoder.encode(lines.map((l) => `${l}\r\n`).join("")),
      this.#timeouts.mail,
    );
    const mail = this.#traced(await readReply(this.#channel, this.#timeouts.mail));
    const rcpts: Reply[] = [];
    // RFC 5321 §3.8: after a 421 the server closes the channel; no RCPT reply follows.
    if (mail.code === 421) return { mail, rcpts };
    for (let i = 0; i < recipients.length; i++) {
      const reply = this.#traced(await readReply(this.#channel, this.#timeouts.rcpt));
      // After a refused MAIL the server refuses each RCPT too; none counts as accepted.
      if (isPositive(mail) && isPositive(reply)) this.#accepted++;
      rcpts.push(reply);
    }
    // LMTP answers the dot once per accepted recipient, so it keeps DATA to itself.
    if (!options.data || this.#protocol === "lmtp") return { mail, rcpts };
    const dataStart = await readReply(this.#channel, this.#timeouts.dataStart);
    // A server that says 354 with no recipient taken gets an empty message ended at once.
    if (dataStart.code === 354 && this.#accepted === 0) {
      await this.#channel.write(encoder.encode(".\r\n"), this.#timeouts.dataBlock);
      await readReply(this.#channel, this.#timeouts.dataEnd);
    }
    return { mail, rcpts, dataStart };
  }

  /**
   * DATA and the message: the reply to DATA when it is not 354, else the replies to the
   * final dot, one for SMTP and one per accepted recipient for LMTP (RFC 2033 §4.2).
   */
  async data(
    content: Uint8Array,
    pipelinedStart?: Reply,
  ): Promise<{ readonly start: Reply; readonly ends: Reply[] }> {
    const start = pipelinedStart ?? await this.#command("DATA", this.#timeouts.dataStart);
    if (start.code !== 354) return { start, ends: [] };
    trace("mta", () => `${this.peer}: >>> (${content.byteLength} bytes of message)`);
    await this.#channel.write(dotStuff(content), this.#timeouts.dataBlock);
    const count = this.#protocol === "lmtp" ? this.#accepted : 1;
    const ends: Reply[] = [];
    for (let i = 0; i < count; i++) {
      ends.push(this.#traced(await readReply(this.#channel, this.#timeouts.dataEnd)));
    }
    this.#accepted = 0;
    return { start, ends };
  }

  /** RSET: ends a transaction that will not be completed, keeping the connection. */
  async reset(): Promise<Reply> {
    this.#accepted = 0;
    return await this.#command("RSET", this.#timeouts.command);
  }

  /** QUIT, without letting a slow goodbye turn a finished dialogue into a failure; closes. */
  async quit(): Promise<void> {
    try {
      await this.#command("QUIT", Math.min(this.#timeouts.command, QUIT_TIMEOUT_MS));
    } catch {
      // The results are known already; the goodbye is a courtesy.
    } finally {
      this.close();
    }
  }

  /** Drops the connection. */
  close(): void {
    this.#channel.close();
  }

  async #command(line: string, timeoutMs: number): Promise<Reply> {
    if (/[\r\n]/.test(line)) throw new ChannelError("a command may not contain CR or LF");
    trace("mta", () => `${this.peer}: >>> ${line}`);
    await this.#channel.write(encoder.encode(`${line}\r\n`), timeoutMs);
    return this.#traced(await readReply(this.#channel, timeoutMs));
  }

  // OpenSMTPD's TRACE_MTA: the dialogue, line by line (AUTH's secrets are never traced).
  #traced(reply: Reply): Reply {
    trace("mta", () => `${this.peer}: <<< ${replyText(reply)}`);
    return reply;
  }
}

function localAddress(target: { readonly localAddress?: string }) {
  return target.localAddress === undefined ? {} : { localAddress: target.localAddress };
}

function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? "?";
  return `${address.includes(":") ? `[${address}]` : address}:${socket.remotePort ?? "?"}`;
}

function connectSocket(target: ClientTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.transport === "unix"
      ? netConnect({ path: target.path })
      : netConnect({ host: target.host, port: target.port, ...localAddress(target) });
    const where = target.transport === "unix" ? target.path : `${target.host}:${target.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ChannelError(`cannot connect to ${where}: no answer within ${timeoutMs / 1000} s`),
      );
    }, timeoutMs);
    socket.once("error", (error: Error & { readonly syscall?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      const message = `cannot connect to ${where}: ${error.message}`;
      // ENOTFOUND, EAI_AGAIN: the name was looked up, and no address came of it.
      reject(
        error.syscall === "getaddrinfo"
          ? new HostNotFoundError(message)
          : new ChannelError(message),
      );
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

// The runtime throws a missing permission from inside the socket, out of reach of any
// handler; asked first, it is an ordinary failure of this connection.
function checkNetPermission(host: string, port: number, what: string): void {
  const name = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (Deno.permissions.querySync({ name: "net", host: name }).state !== "granted") {
    throw new ChannelError(`no permission to ${what} ${name} (--allow-net)`);
  }
}
