// One SMTP session: the state, the loop that feeds command lines to the command table and
// message data to the transaction, and every state transition (enter). The commands' checks
// and effects are in commands.ts and the files it names, socket I/O in connection.ts and
// the data phase in message_data.ts.

import type { Socket } from "node:net";
import type { SessionFacts } from "../rules/mod.ts";
import { continueSasl } from "./auth_command.ts";
import { findCommand, NO_ARGUMENT, refusalFor } from "./commands.ts";
import { type BdatChunk, endOfChunk, endOfData } from "./message_data.ts";
import { SessionConnection } from "./connection.ts";
import { randomHex } from "../mail/mod.ts";
import type { SmtpLimits } from "./limits.ts";
import { logEvent, quoted, trace } from "../log/mod.ts";
import { formatReply, REPLIES, type Reply, withText } from "./replies.ts";
import type { SaslExchange } from "./sasl.ts";
import type { SessionContext } from "./session_context.ts";
import type { SessionState } from "./states.ts";
import { clientCertificateRefusal, describeTls, peerCertificateHash, upgradeToTls } from "./tls.ts";
import type { Transaction } from "./transaction.ts";
import type { SessionFilters } from "../filters/mod.ts";
import * as filtering from "./filtering.ts";
import type { ProxiedPeer } from "./proxy_v2.ts";
import { openingFacts } from "./session_facts.ts";
import { loggableCommand, quotedReason, tlsCiphers } from "./session_log.ts";

// States in which a message is on its way: a stopping server lets them finish.
const IN_TRANSACTION: ReadonlySet<SessionState> = new Set(["mail", "rcpt", "data", "bdat"]);

/** What the rules are told about a session, filled in as the session goes. */
export type SessionFactsInProgress = { -readonly [K in keyof SessionFacts]: SessionFacts[K] };

/** One connection's SMTP conversation. */
export class Session {
  readonly id = randomHex(8);
  readonly limits: SmtpLimits;
  readonly context: SessionContext;
  /** The client as the rules see it; HELO and AUTH fill in `helo` and `authUser`. */
  readonly facts: SessionFactsInProgress;
  #transaction: Transaction | undefined;
  /** The BDAT chunk being read, in state "bdat". */
  chunk: BdatChunk | undefined;
  /** The client said EHLO rather than HELO (reset by STARTTLS). */
  esmtp = false;
  /** AUTH attempts that failed in this session. */
  authFailures = 0;
  /** The original client and the address it reached, when a PROXY header named them. */
  readonly peer: ProxiedPeer | undefined;
  /** The session's filters, when it has any (`listen … filter`, `match … filter`). */
  readonly filters: SessionFilters | undefined;
  /** For the filters: junk before MAIL, forward-confirmed rdns, the message at commit. */
  junk = false;
  fcrdns = false;
  committing: Transaction | undefined;
  #state: SessionState = "greeting";
  #conn: SessionConnection;
  #messages = 0;
  #errors = 0;
  #rdns: Promise<void> | undefined;
  #tlsDescription: string | undefined;
  #sasl: SaslExchange | undefined;
  /** The server is stopping: after the transaction in progress ({@link shutdown}), or now. */
  #stopping: "no" | "after-transaction" | "now" = "no";
  /** The 421 of a stopping server has been said. */
  #toldShuttingDown = false;
  /** A message's data has ended and its commit has not answered yet. */
  #committingData = false;
  /** The command a 4xx/5xx answers, as `smtp failed-command` names it (AUTH without secrets). */
  #command = "";
  /** Why the session ended, for `smtp disconnected reason=`. */
  #endReason: string | undefined;

  /**
   * `peer`: the client a PROXY header named (`listen … proxy-v2`), which stands for the
   * socket's own remote end everywhere: rules, Received:, logs and filters.
   */
  constructor(socket: Socket, ctx: SessionContext, peer?: ProxiedPeer) {
    this.context = ctx;
    this.limits = ctx.limits;
    this.peer = peer;
    this.facts = openingFacts(socket, ctx, peer);
    this.filters = ctx.openFilters?.(filtering.filterView(this));
    if (ctx.resolveRdns && this.facts.src !== "local") {
      this.#rdns = ctx.resolveRdns(this.facts.src).then((answer) => {
        this.#rdns = undefined;
        if (!answer) return;
        this.facts.rdns = answer.name;
        this.fcrdns = answer.confirmed;
      });
    }
    this.#conn = new SessionConnection(socket, {
      limits: ctx.limits,
      log: ctx.log,
      label: `smtp-in: session ${this.id}`,
      onTimeout: () => this.#timedOut(),
    });
  }

  /** Where the session is; changed only by {@link enter}. */
  /** The connection's socket (its addresses, for the filters' link-connect). */
  get socket(): Socket {
    return this.#conn.socket;
  }

  /** Where the session is; changed only by {@link enter}. */
  get state(): SessionState {
    return this.#state;
  }

  /** Messages accepted in this session. */
  get messageCount(): number {
    return this.#messages;
  }

  /** Recipients accepted in the current transaction. */
  get recipientCount(): number {
    return this.transaction?.recipients.length ?? 0;
  }

  /** Counts a message the queue took. */
  messageAccepted(): void {
    this.#messages++;
  }

  /** The TLS parameters for Received:, once the session is encrypted. */
  get tlsDescription(): string | undefined {
    if (!this.facts.tls) return undefined;
    return this.#tlsDescription ?? describeTls(this.#conn.socket, this.clientVerified);
  }

  /**
   * The client's certificate was verified: on a `verify` listener a session goes on over
   * TLS only once it was (OpenSMTPD's SF_VERIFIED).
   */
  get clientVerified(): boolean {
    return this.facts.tls && this.context.tls?.contexts.verifyClient === true;
  }

  /** The pending reverse DNS lookup, if it has not finished yet. */
  get rdnsLookup(): Promise<void> | undefined {
    return this.#rdns;
  }

  /** Runs the conversation until QUIT, an error, a timeout or the client's disconnect. */
  async run(): Promise<void> {
    const { log } = this.context;
    // OpenSMTPD logs the connection once the reverse DNS lookup is done.
    if (this.#rdns) await this.#rdns;
    this.event("connected", { address: this.facts.src, host: this.facts.rdns ?? "<unknown>" });
    // SMTPS: the handshake is done before the session starts.
    if (this.facts.tls) this.#tlsStarted();
    if (this.limits.greetingDelayMs > 0) {
      await new Promise((r) => setTimeout(r, this.limits.greetingDelayMs));
      // RFC 5321 §4.3.1: the client waits for the greeting; one that talks first is not
      // a well-behaved client.
      if (this.#conn.reader.buffered > 0) {
        log.info(`smtp-in: session ${this.id} refused: client talked before the greeting`);
        this.reply(REPLIES.earlyTalker);
        this.close();
        this.event("disconnected", { reason: "early-talker" });
        return;
      }
    }
    // Gone during the greeting delay: close our side too (the listener allows half-open
    // connections, so nothing else would).
    if (this.#conn.ended) {
      this.close();
      return this.event("disconnected", { reason: "disconnect" });
    }
    // Told 421 while its greeting was delayed (the server stops): it gets no 220 after it.
    if (this.#toldShuttingDown) return this.#end();
    if (!(await filtering.filterConnect(this))) return this.#end();
    this.reply({ code: 220, text: `${this.context.hostname} ESMTP OpenSMTPD` });
    filtering.report(this, "link-greeting", () => [this.context.hostname]);
    try {
      await this.#converse();
    } catch (error) {
      // A bug ends this session, never the server; the log gets its stack, not just its message.
      log.warn(`smtp-in: session ${this.id}: ${error instanceof Error ? error.stack : error}`);
      this.reply(REPLIES.localError);
      this.#endReason ??= quotedReason(`error: ${error instanceof Error ? error.message : error}`);
    }
    this.#end();
  }

  // The deadline passed: OpenSMTPD's 421 and the timeout report, then the end.
  #timedOut(): void {
    this.endingBecause("timeout");
    filtering.report(this, "timeout", () => []);
    // Logged once, as the session's end (reason=timeout), not also as a failed command.
    const text = `${this.context.hostname} ${REPLIES.timeout.text}`;
    this.reply(withText(REPLIES.timeout, text), { logged: false });
    this.close();
  }

  /**
   * The transaction in progress, MAIL FROM to the end of its data. Replacing it (RSET,
   * EHLO, STARTTLS, the session's end) gives back the message data the old one held.
   */
  get transaction(): Transaction | undefined {
    return this.#transaction;
  }
  set transaction(tx: Transaction | undefined) {
    if (tx !== this.#transaction) this.#transaction?.releaseData();
    this.#transaction = tx;
  }

  /** Takes the transaction whose data has ended, with its data: the taker releases it. */
  takeTransaction(): Transaction {
    const tx = this.#transaction!;
    this.#transaction = undefined;
    return tx;
  }

  #end(): void {
    // A client gone in the middle of its data leaves nothing held.
    this.transaction = undefined;
    this.close();
    filtering.closeFilters(this);
    this.event("disconnected", { reason: this.#endReason ?? "disconnect" });
  }

  /** Logs one of this session's events (`<id> smtp EVENT fields…`, as OpenSMTPD). */
  event(name: string, fields: Parameters<typeof logEvent>[1]["fields"]): void {
    logEvent(this.context.log, { id: this.id, subsystem: "smtp", event: name, fields });
  }

  /** Says why the session ends, for its `disconnected` line (the first reason given wins). */
  endingBecause(reason: string): void {
    this.#endReason ??= reason;
  }

  /** The command the next 4xx/5xx answers in the log (AUTH steps hide their secrets). */
  get loggedCommand(): string {
    return this.#command;
  }
  set loggedCommand(command: string) {
    this.#command = command;
  }

  async #converse(): Promise<void> {
    const conn = this.#conn;
    while (this.#state !== "closing") {
      // A client that leaves its replies unread gets no more of its input read.
      if (conn.backlogged && !(await conn.drained())) return;
      const stopping = this.#stopping;
      if (stopping === "now" || (stopping !== "no" && !IN_TRANSACTION.has(this.#state))) {
        return this.#tellShuttingDown();
      }
      if (this.#state === "data") {
        if (conn.reader.takeData(this.transaction!)) await this.#answerData(() => endOfData(this));
        else if (!(await conn.moreInput())) return;
        continue;
      }
      if (this.#state === "bdat") {
        const chunk = this.chunk!;
        chunk.remaining -= conn.reader.takeBytes(chunk.remaining, chunk.write);
        if (chunk.remaining === 0) await this.#answerData(() => endOfChunk(this, chunk));
        else if (!(await conn.moreInput())) return;
        continue;
      }
      const line = conn.reader.takeCommand(this.#state === "auth");
      if (!line) {
        if (!(await conn.moreInput())) return;
        continue;
      }
      if (line.kind === "too-long" && this.#state === "auth") {
        // RFC 4954 §4: the AUTH command fails, and the session is out of the exchange.
        this.endSasl();
        this.protocolError(REPLIES.authLineTooLong);
      } else if (line.kind === "too-long") this.protocolError(REPLIES.lineTooLong);
      else if (line.kind === "bdat-too-long") {
        // The chunk size went with the line: reading on would run the chunk as commands.
        this.hangUp(REPLIES.bdatSyntax);
      } else if (this.#state === "auth") {
        await continueSasl(this, this.#sasl!.next(line.text.trim()));
      } else await this.#dispatch(line.text);
    }
  }

  // The command table's discipline: the state, then the check (every refusal), then the
  // effect, which gets the argument the check parsed.
  async #dispatch(line: string): Promise<void> {
    this.#command = loggableCommand(line);
    trace("smtp", () => `${this.id}: <<< ${this.#command}`);
    filtering.report(this, "protocol-client", () => [line]);
    const found = findCommand(line);
    if (!found) return this.protocolError(REPLIES.unrecognized);
    const { command, args } = found;
    if (!command.allowedIn.includes(this.#state)) {
      return this.protocolError(refusalFor(command, this.#state));
    }
    let checked = command.check?.(this, args) ?? NO_ARGUMENT;
    if (checked instanceof Promise) {
      this.flush();
      checked = await checked;
    }
    if (checked.kind === "protocol-error") return this.protocolError(checked.reply);
    if (checked.kind === "refusal") return this.reply(checked.reply);
    if (checked.kind === "hang-up") return this.hangUp(checked.reply);
    const step = await filtering.filterCommand(this, command, {
      argument: checked.argument,
      args,
    });
    if (!step.go) return;
    const pending = command.run(this, step.argument);
    if (pending) {
      this.flush();
      await pending;
    }
  }

  /** Queues a reply; replies go out together when the session waits (PIPELINING). */
  reply(reply: Reply, options: { readonly logged?: boolean } = {}): void {
    const text = formatReply(reply);
    trace("smtp", () => `${this.id}: >>> ${text.trimEnd().replaceAll("\r\n", " | ")}`);
    // OpenSMTPD's smtp_reply: every 4xx and 5xx is logged with the command it answers.
    if (reply.code >= 400 && reply.code < 600 && options.logged !== false) {
      const first = text.slice(0, text.indexOf("\r\n")).replace(/^(\d{3})-/, "$1 ");
      this.event("failed-command", { command: quoted(this.#command), result: quoted(first) });
    }
    this.#conn.queue(text);
    filtering.reportReply(this, text);
  }

  /** Sends the queued replies now (before a slow step, or before TLS starts). */
  flush(): void {
    this.#conn.flush();
  }

  /** Replies, and closes the session with 421 once the client made too many errors. */
  protocolError(reply: Reply): void {
    this.reply(reply);
    if (++this.#errors >= this.limits.maxErrors) {
      this.reply(REPLIES.tooManyErrors);
      this.close();
    }
  }

  /** Replies, and closes the session: its input cannot be read on. */
  hangUp(reply: Reply): void {
    this.reply(reply);
    this.close();
  }

  /**
   * The server is stopping: a transaction in progress may finish (its 250 is given once
   * the queue has it), then, or at once when there is none, the session ends with 421.
   */
  shutdown(): void {
    this.#stopping = "after-transaction";
    this.#conn.interrupt();
  }

  /**
   * The server stops now: the session gets 421 and ends, and reads nothing more. A message
   * whose commit is under way gets the commit's answer first (its 250, or the failure):
   * a 421 over it would say "not accepted" for a message that may be in the queue.
   */
  stop(): void {
    this.#stopping = "now";
    if (!this.#committingData) this.#tellShuttingDown();
  }

  /** True while a message's commit runs and its answer is not given yet. */
  get committingData(): boolean {
    return this.#committingData;
  }

  // The end of a message's data (or a BDAT chunk): from here to its answer, a stopping
  // server waits rather than speaking over it.
  async #answerData(answer: () => Promise<void>): Promise<void> {
    this.#committingData = true;
    try {
      await answer();
    } finally {
      this.#committingData = false;
    }
  }

  // The stopping server's 421, said once, and the session's end.
  #tellShuttingDown(): void {
    if (this.#toldShuttingDown) return;
    this.#toldShuttingDown = true;
    this.reply(REPLIES.shuttingDown);
    this.close();
  }

  /**
   * Ends the session: sends pending replies and closes the connection; `final` after the
   * client's QUIT, when nothing more is read.
   */
  close(final = false): void {
    this.enter("closing");
    this.#conn.end(final);
  }

  /** Moves to another state: the one place a transition is made, and logged. */
  enter(next: SessionState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.context.log.debug(`smtp-in: session ${this.id} state ${previous} -> ${next}`);
    this.#state = next;
    const wasData = previous === "data" || previous === "bdat";
    const isData = next === "data" || next === "bdat";
    // RFC 5321 §4.5.3.2: data blocks and commands have timeouts of their own. A BDAT
    // chunk is binary: its bytes, not its lines, show progress.
    if (wasData !== isData && next !== "closing") {
      const ms = isData ? this.limits.dataTimeoutMs : this.limits.idleTimeoutMs;
      this.#conn.setTimeout(ms, next === "bdat" ? "bytes" : "lines");
    }
  }

  /** True when this listener offers STARTTLS (`tls`, `tls-require`). */
  get offersStartTls(): boolean {
    const mode = this.context.tls?.mode;
    return mode === "starttls" || mode === "starttls-require";
  }

  /** True when STARTTLS is offered and the session is not yet encrypted. */
  get canStartTls(): boolean {
    return this.offersStartTls && !this.facts.tls;
  }

  /** True when this listener requires STARTTLS and the session has not done it yet. */
  get tlsMissing(): boolean {
    return this.context.tls?.mode === "starttls-require" && !this.facts.tls;
  }

  /**
   * STARTTLS (RFC 3207): answers 220, then handshakes on the same connection. Anything
   * the client sent after the command is dropped unread (the CVE-2011-0411 class), and
   * the session starts over: the client must say EHLO again (RFC 3207 §4.2).
   */
  startTls(): void {
    const tls = this.context.tls!;
    this.reply(REPLIES.readyToStartTls);
    this.flush();
    this.transaction = undefined;
    delete this.facts.helo;
    this.esmtp = false;
    this.enter("greeting");
    const secure = upgradeToTls(this.#conn.socket, tls.contexts);
    secure.once("secure", () => {
      // OpenSMTPD's libtls fails such a handshake: the session ends unanswered.
      const refusal = clientCertificateRefusal(secure, tls.contexts);
      if (refusal) {
        const why = `io-error: handshake failed: client certificate refused: ${refusal}`;
        this.endingBecause(quotedReason(why));
        return this.close();
      }
      this.facts.tls = true;
      this.#tlsDescription = describeTls(secure, this.clientVerified);
      this.#tlsStarted();
      filtering.reportTls(this);
    });
    // OpenSMTPD's smtp_io: a failed handshake ends the session as an io-error with its cause.
    secure.once("error", (error: Error) => {
      if (!this.facts.tls) {
        this.endingBecause(quotedReason(`io-error: handshake failed: ${error.message}`));
      }
    });
    this.#conn.replaceSocket(secure);
  }

  // OpenSMTPD's IO_TLSREADY and smtp_tls_started(): the ciphers, and the certificate's check.
  #tlsStarted(): void {
    this.event("tls", { ciphers: tlsCiphers(this.tlsDescription) });
    const hash = peerCertificateHash(this.#conn.socket);
    if (hash) {
      const result = this.clientVerified ? "verified" : "unchecked";
      this.event("cert-check", { result: quoted(result), fingerprint: quoted(hash) });
    }
  }

  /** True when AUTH is offered now: configured, over TLS, not yet done. */
  get canAuthenticate(): boolean {
    return this.context.auth !== undefined && this.facts.tls && !this.authenticated;
  }

  /** True once AUTH succeeded. */
  get authenticated(): boolean {
    return this.facts.authUser !== undefined;
  }

  /** True when this listener requires AUTH and the session has not done it. */
  get authMissing(): boolean {
    return this.context.auth?.required === true && !this.authenticated;
  }

  /** Starts a SASL exchange: the client's next lines are its answers. */
  beginSasl(exchange: SaslExchange): void {
    this.#sasl = exchange;
    this.enter("auth");
  }

  /** Ends the SASL exchange, whatever its outcome. */
  endSasl(): void {
    this.#sasl = undefined;
    this.enter("ready");
  }

  /** DATA: from now on input is message content. */
  startData(): void {
    this.#conn.reader.beginData();
    const tx = this.transaction;
    if (tx) filtering.report(this, "tx-data", () => [tx.msgid, "ok"]);
    this.enter("data");
    this.reply(REPLIES.startData);
  }
}
