// One SMTP session: reads command lines and message data from the LineReader, runs the
// command table, batches replies (PIPELINING), and hands finished messages to `submit`.

import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import type { Logger } from "../log/mod.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { RuleVerdict, SessionFacts } from "../rules/mod.ts";
import { isUtf8Address, parsePathArgument } from "./address.ts";
import { parseMailDsn, parseRcptDsn, type RcptDsn } from "./dsn.ts";
import { findCommand, invalidRecipient, refusalFor } from "./commands.ts";
import { LineReader } from "./line_reader.ts";
import { formatReceived } from "./received.ts";
import { formatReply, parseReply, REPLIES, type Reply, withText } from "./replies.ts";
import type { SessionState } from "./states.ts";
import { Transaction } from "./transaction.ts";
import { masqueradeFrom } from "./masquerade.ts";
import { describeTls, type TlsContexts, upgradeToTls } from "./tls.ts";
import { SASL_MECHANISMS, type SaslExchange, type SaslStep, startSasl } from "./sasl.ts";

/** Limits of one listener's sessions. */
export interface SmtpLimits {
  /** Largest message in bytes (SIZE). */
  readonly maxMessageSize: number;
  /** Recipients per transaction. */
  readonly maxRcpt: number;
  /** Messages per session. */
  readonly maxMails: number;
  /** Idle time before the session is closed with 421, between commands. */
  readonly idleTimeoutMs: number;
  /** Idle time while message data is being received (RFC 5321 §4.5.3.2.6: 3 minutes). */
  readonly dataTimeoutMs: number;
  /** Sessions open at once on this listener; one more is answered 421 and closed. */
  readonly maxSessions: number;
  /** Sessions open at once from one client address (the machine's own are not capped). */
  readonly maxSessionsPerClient: number;
  /** Wait this long before the greeting; a client that talks first is refused. */
  readonly greetingDelayMs: number;
  /** Longest command line, CRLF included. */
  readonly commandLineMax: number;
  /** Longest text line, CRLF included. */
  readonly textLineMax: number;
  /** Protocol errors tolerated before the session is closed with 421. */
  readonly maxErrors: number;
}

/** OpenSMTPD's defaults, and RFC 5321's line limits. */
export const DEFAULT_LIMITS: SmtpLimits = {
  maxMessageSize: 35 * 1024 * 1024,
  maxRcpt: 1000,
  maxMails: 100,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 180_000,
  maxSessions: 10_000,
  maxSessionsPerClient: 100,
  greetingDelayMs: 0,
  commandLineMax: 512,
  textLineMax: 1000,
  maxErrors: 10,
};

/** What a session needs from its listener. */
export interface SessionContext {
  readonly hostname: string;
  readonly tag?: string;
  readonly limits: SmtpLimits;
  decide(session: SessionFacts, envelope: { mailFrom: string; rcptTo: string }):
    | RuleVerdict
    | Promise<RuleVerdict>;
  submit(message: NewMessage): Promise<void>;
  isLocalAddress(ip: string): boolean;
  /** TLS offered on this listener: STARTTLS (optional or required) or SMTPS. */
  readonly tls?: {
    readonly mode: "starttls" | "starttls-require" | "smtps";
    readonly contexts: TlsContexts;
  };
  /** SMTP AUTH on this listener: required or optional, and how credentials are checked. */
  readonly auth?: {
    readonly required: boolean;
    check(user: string, password: string): Promise<{ ok: boolean; reason?: string }>;
    /** `senders <t>`: whether the authenticated user may use this MAIL FROM. */
    senderAllowed?(user: string, sender: string): boolean;
    /** `received-auth`: name the user in Received:. */
    readonly inReceived?: boolean;
    /** `senders <t> masquerade`: From: shows the envelope sender. */
    readonly masquerade?: boolean;
  };
  /** Delay before answering a failed AUTH (default about a second, at random). */
  readonly authFailureDelayMs?: number;
  /** DSN (RFC 3461) offered; `listen … no-dsn` turns it off. Default on. */
  readonly dsn?: boolean;
  /** `listen … mask-src`: leave the client out of Received:. */
  readonly maskSource?: boolean;
  /** The local enqueuer's unix socket: clients are local, and `from socket` matches. */
  readonly unixSocket?: boolean;
  /** The client's reverse DNS name; looked up at connect when given. Never rejects. */
  resolveRdns?(ip: string): Promise<string | undefined>;
  readonly log: Logger;
}

// Failed AUTH attempts a session may make before it is closed.
const MAX_AUTH_FAILURES = 3;

// Input buffered beyond this pauses the socket until the session catches up.
const HIGH_WATER = 1 << 20;

/** One connection's SMTP conversation. */
export class Session {
  readonly id = randomHex(8);
  readonly limits: SmtpLimits;
  state: SessionState = "greeting";
  #ctx: SessionContext;
  #socket: Socket;
  #reader: LineReader;
  #facts: { -readonly [K in keyof SessionFacts]: SessionFacts[K] };
  #esmtp = false;
  #transaction: Transaction | undefined;
  #messages = 0;
  #errors = 0;
  #out: string[] = [];
  #wake: (() => void) | undefined;
  #rdns: Promise<void> | undefined;
  #tlsDescription: string | undefined;
  #sasl: SaslExchange | undefined;
  #chunk:
    | {
      remaining: number;
      size: number;
      last: boolean;
      accepted: boolean;
      write(b: Uint8Array): void;
    }
    | undefined;
  #authFailures = 0;
  #ended = false;

  constructor(socket: Socket, ctx: SessionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.limits = ctx.limits;
    this.#reader = new LineReader(ctx.limits);
    const ip = ctx.unixSocket ? "local" : normaliseIp(socket.remoteAddress ?? "");
    this.#facts = {
      src: ip,
      local: ctx.unixSocket === true || ctx.isLocalAddress(ip),
      socket: ctx.unixSocket === true,
      tls: false,
      ...(ctx.tag === undefined ? {} : { tag: ctx.tag }),
    };
    if (ctx.resolveRdns && !ctx.unixSocket) {
      this.#rdns = ctx.resolveRdns(ip).then((name) => {
        this.#rdns = undefined;
        if (name) this.#facts.rdns = name;
      });
    }
    if (ctx.tls?.mode === "smtps") this.#facts.tls = true;
    this.#attach(socket);
  }

  // Listens to a socket: the accepted one, then the TLS one after STARTTLS.
  #attach(socket: Socket): void {
    this.#socket = socket;
    const ctx = this.#ctx;
    socket.on("data", (chunk: Uint8Array) => {
      if (socket !== this.#socket) return;
      this.#reader.push(chunk);
      if (this.#reader.buffered > HIGH_WATER) socket.pause();
      this.#wakeUp();
    });
    const ended = () => {
      if (socket !== this.#socket) return;
      this.#ended = true;
      this.#wakeUp();
    };
    socket.on("end", ended);
    socket.on("close", ended);
    socket.on("error", (error: Error) => {
      ctx.log.debug(`smtp-in: session ${this.id}: ${error.message}`);
      ended();
    });
    socket.setTimeout(ctx.limits.idleTimeoutMs, () => {
      if (socket !== this.#socket) return;
      this.reply(withText(REPLIES.timeout, `${ctx.hostname} ${REPLIES.timeout.text}`));
      this.close();
    });
  }

  /** Messages accepted in this session. */
  get messageCount(): number {
    return this.#messages;
  }

  /** Recipients accepted in the current transaction. */
  get recipientCount(): number {
    return this.#transaction?.recipients.length ?? 0;
  }

  /** Runs the conversation until QUIT, an error, a timeout or the client's disconnect. */
  async run(): Promise<void> {
    const { log } = this.#ctx;
    log.info(`smtp-in: session ${this.id} connected from ${this.#facts.src}`);
    if (this.limits.greetingDelayMs > 0) {
      await new Promise((r) => setTimeout(r, this.limits.greetingDelayMs));
      // RFC 5321 §4.3.1: the client waits for the greeting; one that talks first is not
      // a well-behaved client.
      if (this.#reader.buffered > 0) {
        log.info(`smtp-in: session ${this.id} refused: client talked before the greeting`);
        this.reply(REPLIES.earlyTalker);
        this.close();
        return;
      }
    }
    if (this.#ended) return;
    this.reply({ code: 220, text: `${this.#ctx.hostname} ESMTP OpenSMTPD` });
    try {
      while (this.state !== "closing") {
        if (this.state === "data") {
          if (this.#reader.takeData(this.#transaction!)) await this.#endOfData();
          else if (!(await this.#moreInput())) break;
          continue;
        }
        if (this.state === "bdat") {
          const chunk = this.#chunk!;
          chunk.remaining -= this.#reader.takeBytes(chunk.remaining, chunk.write);
          if (chunk.remaining === 0) await this.#endOfChunk();
          else if (!(await this.#moreInput())) break;
          continue;
        }
        const line = this.#reader.takeCommand();
        if (!line) {
          if (!(await this.#moreInput())) break;
          continue;
        }
        if (line.kind === "too-long") {
          this.#protocolError(REPLIES.lineTooLong);
          continue;
        }
        if (this.state === "auth") await this.#saslStep(this.#sasl!.next(line.text.trim()));
        else await this.#dispatch(line.text);
      }
    } catch (error) {
      // A bug ends this session, never the server.
      log.warn(`smtp-in: session ${this.id}: ${error instanceof Error ? error.stack : error}`);
      this.reply(REPLIES.localError);
    }
    this.close();
    log.info(`smtp-in: session ${this.id} disconnected`);
  }

  /** Queues a reply; replies go out together when the session waits (PIPELINING). */
  reply(reply: Reply): void {
    this.#out.push(formatReply(reply));
  }

  /** Ends the session: sends pending replies and closes the connection. */
  close(): void {
    this.#enter("closing");
    this.#flush();
    if (!this.#socket.destroyed) this.#socket.end();
    this.#wakeUp();
  }

  /** HELO/EHLO: identifies the client and resets any transaction (RFC 5321 §4.1.4). */
  hello(name: string, esmtp: boolean): void {
    this.#facts.helo = name;
    this.#esmtp = esmtp;
    this.#transaction = undefined;
    this.#enter("ready");
    const greeting =
      `${this.#ctx.hostname} Hello ${name} [${this.#facts.src}], pleased to meet you`;
    if (!esmtp) return this.reply({ code: 250, text: greeting });
    const lines = [
      greeting,
      "8BITMIME",
      "ENHANCEDSTATUSCODES",
      `SIZE ${this.limits.maxMessageSize}`,
      "PIPELINING",
      ...(this.#ctx.dsn === false ? [] : ["DSN"]),
      "SMTPUTF8",
      "CHUNKING",
      ...(this.canStartTls ? ["STARTTLS"] : []),
      ...(this.canAuthenticate ? [`AUTH ${SASL_MECHANISMS.join(" ")}`] : []),
      "HELP",
    ];
    this.reply({ code: 250, text: lines.join("\n") });
  }

  /** True when STARTTLS is offered and the session is not yet encrypted. */
  get canStartTls(): boolean {
    const mode = this.#ctx.tls?.mode;
    return (mode === "starttls" || mode === "starttls-require") && !this.#facts.tls;
  }

  /** True when this listener requires STARTTLS and the session has not done it yet. */
  get tlsMissing(): boolean {
    return this.#ctx.tls?.mode === "starttls-require" && !this.#facts.tls;
  }

  /**
   * STARTTLS (RFC 3207): answers 220, then handshakes on the same connection. Anything
   * the client sent after the command is dropped unread (the CVE-2011-0411 class), and
   * the session starts over: the client must say EHLO again (RFC 3207 §4.2).
   */
  startTls(): void {
    const tls = this.#ctx.tls!;
    this.reply(REPLIES.readyToStartTls);
    this.#flush();
    this.#reader = new LineReader(this.limits);
    this.#transaction = undefined;
    delete this.#facts.helo;
    this.#esmtp = false;
    this.#enter("greeting");
    const secure = upgradeToTls(this.#socket, tls.contexts);
    secure.once("secure", () => {
      this.#facts.tls = true;
      this.#tlsDescription = describeTls(secure);
      this.#ctx.log.info(`smtp-in: session ${this.id} STARTTLS ${this.#tlsDescription ?? ""}`);
    });
    this.#attach(secure);
  }

  /** True when AUTH is offered now: configured, over TLS, not yet done. */
  get canAuthenticate(): boolean {
    return this.#ctx.auth !== undefined && this.#facts.tls && !this.authenticated;
  }

  /** True once AUTH succeeded. */
  get authenticated(): boolean {
    return this.#facts.authUser !== undefined;
  }

  /** True when this listener requires AUTH and the session has not done it. */
  get authMissing(): boolean {
    return this.#ctx.auth?.required === true && !this.authenticated;
  }

  /** AUTH MECHANISM [initial-response] (RFC 4954). */
  authenticate(mechanism: string, initial: string | undefined): Promise<void> | void {
    const started = startSasl(mechanism, initial);
    if (!started) return this.#protocolError(REPLIES.authMechanism);
    this.#sasl = started.exchange;
    this.#enter("auth");
    return this.#saslStep(started.first);
  }

  async #saslStep(step: SaslStep): Promise<void> {
    switch (step.kind) {
      case "challenge":
        return this.reply({ code: 334, text: step.text });
      case "error":
        this.#endSasl();
        return this.#protocolError(
          step.reason === "cancelled" ? REPLIES.authCancelled : REPLIES.authSyntax,
        );
      case "credentials": {
        this.#endSasl();
        const auth = this.#ctx.auth!;
        const result = await auth.check(step.user, step.password);
        if (result.ok) {
          this.#facts.authUser = step.user;
          this.#ctx.log.info(
            `smtp-in: session ${this.id} authentication user=${step.user} result=ok`,
          );
          return this.reply(REPLIES.authOk);
        }
        this.#ctx.log.info(
          `smtp-in: session ${this.id} authentication user=${step.user} result=failed: ${
            result.reason ?? ""
          }`,
        );
        // Failures are answered late, so guessing is slow; too many end the session.
        this.#flush();
        const delay = this.#ctx.authFailureDelayMs ?? 500 + Math.random() * 500;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        this.reply(REPLIES.authFailed);
        if (++this.#authFailures >= MAX_AUTH_FAILURES) {
          this.reply(REPLIES.tooManyAuthFailures);
          this.close();
        }
        return;
      }
    }
  }

  #endSasl(): void {
    this.#sasl = undefined;
    this.#enter("ready");
  }

  /** MAIL FROM: starts a transaction. */
  mailFrom(args: string): void {
    const path = parsePathArgument(args);
    if (!path) return this.#protocolError(REPLIES.senderSyntax);
    for (const [key, value] of path.params) {
      const refusal = this.#checkMailParam(key, value);
      if (refusal) return this.reply(refusal);
    }
    const user = this.#facts.authUser;
    const allowed = this.#ctx.auth?.senderAllowed;
    if (user !== undefined && allowed && !allowed(user, path.address)) {
      this.#ctx.log.info(
        `smtp-in: session ${this.id} user=${user} may not send as <${path.address}>`,
      );
      return this.reply(REPLIES.senderNotOwned);
    }
    const dsn = parseMailDsn(this.#ctx.dsn === false ? new Map() : path.params);
    if ("error" in dsn) return this.reply(withText(REPLIES.syntax, dsn.error));
    const smtputf8 = path.params.has("SMTPUTF8");
    // RFC 6531 §3.7.4.1: a UTF-8 address needs SMTPUTF8 on MAIL FROM.
    if (isUtf8Address(path.address) && !smtputf8) return this.reply(REPLIES.utf8Required);
    const tx = new Transaction(path.address, path.params, this.limits.maxMessageSize);
    tx.dsn = dsn.dsn;
    tx.smtputf8 = smtputf8;
    this.#transaction = tx;
    this.#enter("mail");
    this.reply(REPLIES.ok);
  }

  /** RCPT TO: asks the rules about one recipient. */
  rcptTo(args: string): void | Promise<void> {
    const path = parsePathArgument(args)!;
    if (path.address === "") return this.#protocolError(REPLIES.recipientSyntax);
    const dsnOn = this.#ctx.dsn !== false;
    const unsupported = [...path.params.keys()].find((k) =>
      !(dsnOn && (k === "NOTIFY" || k === "ORCPT"))
    );
    if (unsupported) {
      return this.reply(withText(REPLIES.unsupportedOption, `Unsupported option: ${unsupported}`));
    }
    const dsn = parseRcptDsn(path.params);
    if ("error" in dsn) return this.reply(withText(REPLIES.syntax, dsn.error));
    if (isUtf8Address(path.address) && !this.#transaction!.smtputf8) {
      return this.reply(REPLIES.utf8Required);
    }
    if (this.#rdns) {
      // The rules may ask about the client's name: wait for the lookup once.
      return this.#rdns.then(() => this.rcptTo(args));
    }
    const tx = this.#transaction!;
    const verdict = this.#ctx.decide(this.#facts, { mailFrom: tx.sender, rcptTo: path.address });
    if (verdict instanceof Promise) {
      return verdict.then((v) => this.#recipientDecided(v, path.address, dsn.dsn));
    }
    this.#recipientDecided(verdict, path.address, dsn.dsn);
  }

  /** DATA: from now on input is message content. */
  startData(): void {
    this.#reader.beginData();
    this.#enter("data");
    this.reply(REPLIES.startData);
  }

  /** True when the transaction's content started with BDAT (RFC 3030 §2: no DATA then). */
  get dataAfterBdat(): boolean {
    return this.#transaction?.transfer === "bdat";
  }

  /** BDAT SIZE [LAST] (RFC 3030): reads the chunk, then answers. */
  bdat(size: number, last: boolean): void {
    const tx = this.#transaction;
    const accepted = tx !== undefined && this.state === "rcpt";
    if (accepted) tx.transfer = "bdat";
    const discard = () => {};
    this.#chunk = {
      remaining: size,
      size,
      last,
      accepted,
      write: accepted ? (bytes) => tx.write(bytes.slice()) : discard,
    };
    this.#chunkReturn = this.state;
    this.#enter("bdat");
  }

  #chunkReturn: SessionState = "ready";

  async #endOfChunk(): Promise<void> {
    const chunk = this.#chunk!;
    this.#chunk = undefined;
    this.#enter(this.#chunkReturn);
    if (!chunk.accepted) return this.#protocolError(REPLIES.bdatRefused);
    if (!chunk.last) {
      return this.reply({ code: 250, enhanced: "2.0.0", text: `${chunk.size} octets received` });
    }
    await this.#endOfData();
  }

  /** RSET: drops the transaction. */
  reset(): void {
    this.#transaction = undefined;
    this.#enter(this.#facts.helo === undefined ? "greeting" : "ready");
    this.reply(REPLIES.reset);
  }

  /** QUIT */
  quit(): void {
    this.reply(REPLIES.bye);
    this.close();
  }

  #recipientDecided(verdict: RuleVerdict, address: string, dsn: RcptDsn): void {
    const tx = this.#transaction;
    if (!tx) return;
    if (verdict.kind === "reject") {
      this.#ctx.log.info(
        `smtp-in: session ${this.id} rcpt=<${address}> refused: ${verdict.reason}`,
      );
      return verdict.reply
        ? this.reply(parseReply(verdict.reply))
        : this.reply(invalidRecipient(address));
    }
    if (verdict.kind === "tempfail") {
      this.#ctx.log.warn(
        `smtp-in: session ${this.id} rcpt=<${address}> tempfail: ${verdict.reason}`,
      );
      return this.reply(verdict.reply ? parseReply(verdict.reply) : REPLIES.tempFailure);
    }
    tx.recipients.push(address);
    tx.envelopes.push({
      rcpt: address,
      action: verdict.action,
      ...(verdict.user === undefined ? {} : { user: verdict.user }),
      ...(dsn.notify ? { dsnNotify: dsn.notify } : {}),
      ...(dsn.orcpt ? { dsnOrcpt: dsn.orcpt } : {}),
    });
    this.#enter("rcpt");
    this.reply(REPLIES.recipientOk);
  }

  #checkMailParam(key: string, value: string): Reply | undefined {
    switch (key) {
      case "SIZE": {
        if (!/^\d{1,20}$/.test(value)) return REPLIES.syntax;
        return Number(value) > this.limits.maxMessageSize ? REPLIES.sizeExceeded : undefined;
      }
      case "BODY":
        return /^(7BIT|8BITMIME)$/i.test(value) ? undefined : REPLIES.syntax;
      case "AUTH":
        // RFC 4954 §5: accepted, and ignored without an authenticated session.
        return undefined;
      case "SMTPUTF8":
        return value === "" ? undefined : REPLIES.syntax;
      case "RET":
      case "ENVID":
        return this.#ctx.dsn === false
          ? withText(REPLIES.unsupportedOption, `Unsupported option: ${key}`)
          : undefined;
      default:
        return withText(REPLIES.unsupportedOption, `Unsupported option: ${key}`);
    }
  }

  async #dispatch(line: string): Promise<void> {
    const found = findCommand(line);
    if (!found) return this.#protocolError(REPLIES.unrecognized);
    const { command, args } = found;
    if (!command.allowedIn.includes(this.state)) {
      return this.#protocolError(refusalFor(command, this.state));
    }
    const refusal = command.check?.(this, args);
    if (refusal) return this.#protocolError(refusal);
    const pending = command.run(this, args);
    if (pending) {
      this.#flush();
      await pending;
    }
  }

  async #endOfData(): Promise<void> {
    const tx = this.#transaction!;
    this.#transaction = undefined;
    this.#enter("ready");
    tx.countHops();
    switch (tx.problem) {
      case "too-big":
        return this.reply(REPLIES.tooBig);
      case "line-too-long":
        return this.reply(REPLIES.textLineTooLong);
      case "loop":
        return this.reply(REPLIES.loop);
    }
    const msgid = randomHex(4);
    await this.#rdns;
    const received = formatReceived({
      helo: this.#facts.helo ?? "unknown",
      ...(this.#facts.rdns === undefined ? {} : { rdns: this.#facts.rdns }),
      ip: this.#facts.src,
      hostname: this.#ctx.hostname,
      msgid,
      protocol: (this.#esmtp ? "ESMTP" : "SMTP") + (this.#facts.tls ? "S" : "") +
        (this.#facts.authUser !== undefined ? "A" : ""),
      ...(this.#ctx.auth?.inReceived && this.#facts.authUser !== undefined
        ? { authUser: this.#facts.authUser }
        : {}),
      ...(this.#facts.tls
        ? { tls: this.#tlsDescription ?? describeTls(this.#socket) ?? "TLS" }
        : {}),
      recipients: tx.recipients,
      ...(this.#ctx.maskSource ? { maskSource: true } : {}),
      date: new Date(),
    });
    let body: Uint8Array = Buffer.concat(tx.chunks);
    if (this.#ctx.auth?.masquerade && this.#facts.authUser !== undefined && tx.sender !== "") {
      body = masqueradeFrom(body, tx.sender);
    }
    const content = Buffer.concat([Buffer.from(received, "latin1"), body]);
    this.#flush();
    try {
      await this.#ctx.submit({
        msgid,
        sender: tx.sender,
        helo: this.#facts.helo ?? "",
        src: this.#facts.src,
        content,
        envelopes: tx.envelopes,
        ...(tx.dsn.ret ? { dsnRet: tx.dsn.ret } : {}),
        ...(tx.dsn.envid ? { dsnEnvid: tx.dsn.envid } : {}),
        ...(tx.smtputf8 ? { smtputf8: true } : {}),
      });
    } catch (error) {
      this.#ctx.log.warn(
        `smtp-in: session ${this.id} message ${msgid} not queued: ${
          error instanceof Error ? error.message : error
        }`,
      );
      return this.reply(REPLIES.queueFailure);
    }
    this.#messages++;
    this.#ctx.log.info(
      `smtp-in: session ${this.id} message ${msgid} from=<${tx.sender}> rcpt=<${
        tx.recipients.join(">,<")
      }> size=${content.byteLength} result=Ok`,
    );
    this.reply({ code: 250, enhanced: "2.0.0", text: `${msgid} Message accepted for delivery` });
  }

  #protocolError(reply: Reply): void {
    this.reply(reply);
    if (++this.#errors >= this.limits.maxErrors) {
      this.reply(REPLIES.tooManyErrors);
      this.close();
    }
  }

  #enter(next: SessionState): void {
    if (this.state === next) return;
    const wasData = this.state === "data" || this.state === "bdat";
    const isData = next === "data" || next === "bdat";
    this.state = next;
    // RFC 5321 §4.5.3.2: data blocks and commands have timeouts of their own.
    if (wasData !== isData && next !== "closing") {
      this.#socket.setTimeout(isData ? this.limits.dataTimeoutMs : this.limits.idleTimeoutMs);
    }
  }

  #flush(): void {
    if (this.#out.length === 0 || this.#socket.destroyed) {
      this.#out.length = 0;
      return;
    }
    const text = this.#out.length === 1 ? this.#out[0]! : this.#out.join("");
    this.#out.length = 0;
    this.#socket.write(text);
  }

  // Sends what is pending and waits for input; false once the client is gone.
  #moreInput(): Promise<boolean> {
    this.#flush();
    if (this.#ended) return Promise.resolve(false);
    if (this.#socket.isPaused()) this.#socket.resume();
    return new Promise((resolve) => {
      this.#wake = () => resolve(!this.#ended || this.#reader.buffered > 0);
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function normaliseIp(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** Random hex digits from the system's CSPRNG (`bytes` bytes, twice as many digits). */
export function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of data) out += b.toString(16).padStart(2, "0");
  return out;
}
