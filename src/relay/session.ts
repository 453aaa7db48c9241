// One outbound connection to one next hop, set up as smtpd.conf(5) asks: greeting, EHLO,
// STARTTLS (opportunistic, required or none; smtps from the start), the certificate
// checked when it must be, AUTH over TLS only. It then carries transactions, each with
// any number of recipients, until it is closed: the object a connection cache can keep.

import {
  ClientConnection,
  type ClientTimeouts,
  type ClientTls,
  type Credentials,
  describeTls,
  HostNotFoundError,
  isPositive,
  replyText,
  runTransaction,
  TlsHandshakeError,
  type Transaction,
} from "../client/mod.ts";
import type { RelaySecurity } from "../config/mod.ts";
import { hostText } from "./book.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliveryFailure, type DeliveryResult, errorMessage, tempfail } from "../mail/mod.ts";
import { describeDecision, type TlsDecision } from "./tls_policy.ts";
import { checkTlsDecision } from "./tls_policy_check.ts";

/** One next hop and how to talk to it. */
export interface RelayRoute {
  readonly protocol: "smtp" | "lmtp";
  /** The host's name: SNI, certificate identity, logs. */
  readonly host: string;
  /** The address to dial (default: the name); a unix socket path for lmtp:///path. */
  readonly address?: string;
  readonly socket?: string;
  readonly port: number;
  readonly security: RelaySecurity;
  /** A TLS session must carry a verified certificate (`tls`, smtp+tls, smtps). */
  readonly verify: boolean;
  /** Trust anchors (`ca`), a client certificate (`pki`). */
  readonly tls?: Omit<ClientTls, "servername">;
  readonly credentials?: Credentials;
  /** The name for EHLO/LHLO. */
  readonly helo: string;
  /** `helo-src`: the name for the source address the connection got, when one is mapped. */
  readonly heloFor?: (localAddress: string) => string | undefined | Promise<string | undefined>;
  /** `src`: the local address to connect from. */
  readonly localAddress?: string;
  readonly timeouts?: Partial<ClientTimeouts>;
  /** The TLS policy that set `security` and `verify` (MX delivery), and what it checks after. */
  readonly tlsPolicy?: TlsDecision;
}

/** Why a session could not be set up, and what the caller should do next. */
export interface SessionFailure {
  readonly kind: "failed";
  readonly failure: DeliveryFailure;
  /** The STARTTLS handshake failed on an opportunistic route: try this host in clear. */
  readonly downgrade?: boolean;
  /** The answer stands for every host (AUTH refused): do not try the next one. */
  readonly final?: boolean;
  /** The host was dialled by name and the name had no address: nothing was reached. */
  readonly noAddress?: boolean;
}

/** What one transaction came to. */
export interface SentTransaction {
  /** One result per recipient, in order. */
  readonly results: DeliveryResult[];
  /**
   * True for each recipient refused here for what this server does not offer (SMTPUTF8,
   * a SIZE large enough): the refusal is final only if no other host offers it either.
   */
  readonly unsupported: readonly boolean[];
}

/** An established session: transactions go through {@link RelaySession.send}. */
export class RelaySession {
  readonly #conn: ClientConnection;
  readonly #route: RelayRoute;
  readonly #log: Logger;
  readonly id: string;
  #usable = true;
  #markClosed!: () => void;
  /** Settles when the session is closed (a relay book counts it until then). */
  readonly closed = new Promise<void>((resolve) => this.#markClosed = resolve);

  private constructor(conn: ClientConnection, route: RelayRoute, log: Logger, id: string) {
    this.#conn = conn;
    this.#route = route;
    this.#log = log;
    this.id = id;
  }

  /** Connects and sets the session up; never throws. */
  static async open(route: RelayRoute, log: Logger): Promise<RelaySession | SessionFailure> {
    const id = sessionId();
    const where = `${route.host} [${
      route.socket ?? `${route.address ?? route.host}:${route.port}`
    }]`;
    let conn: ClientConnection | undefined;
    try {
      conn = await ClientConnection.open(
        route.socket ? { transport: "unix", path: route.socket } : {
          transport: "tcp",
          host: route.address ?? route.host,
          port: route.port,
          ...(route.localAddress ? { localAddress: route.localAddress } : {}),
        },
        {
          protocol: route.protocol,
          ...(route.security === "smtps" ? { implicitTls: clientTls(route) } : {}),
          ...(route.timeouts ? { timeouts: route.timeouts } : {}),
        },
      );
      const notes: string[] = [];
      const failure = await setUp(conn, route, notes);
      if (failure) {
        log.info(
          `smtp-out: session ${id} to ${where} failed: ${failure.failure.reason}${policyOf(route)}`,
        );
        await conn.quit();
        return failure;
      }
      log.info(
        `smtp-out: session ${id} connected to ${route.host} [${conn.peer}] ${
          conn.tls ? `tls ${describeTls(conn.tls)}` : "tls=none"
        }${route.credentials ? ` auth=${route.credentials.user}` : ""}${policyOf(route)}${
          notes.map((n) => ` ${n}`).join("")
        }`,
      );
      return new RelaySession(conn, route, log, id);
    } catch (error) {
      conn?.close();
      const downgrade = error instanceof TlsHandshakeError && route.security === "opportunistic";
      const reason = `${route.host}: ${errorMessage(error)}`;
      log.info(
        `smtp-out: session ${id} to ${where} failed: ${errorMessage(error)}${
          downgrade ? "; opportunistic TLS failed, trying again in plain text" : ""
        }${policyOf(route)}`,
      );
      return {
        kind: "failed",
        failure: tempfail(reason),
        ...(downgrade ? { downgrade } : {}),
        ...(error instanceof HostNotFoundError ? { noAddress: true } : {}),
      };
    }
  }

  /** False once the connection failed or ended; a cache drops such sessions. */
  get usable(): boolean {
    return this.#usable;
  }

  /** The server's address without its port, as OpenSMTPD's logs write it (`[::1]`). */
  get peerAddress(): string {
    return this.#route.socket ?? this.#conn.peer.replace(/:[^:\]]*$/, "");
  }

  /** The local address of the connection (`src`), when it has one. */
  get localAddress(): string | undefined {
    return this.#conn.localAddress?.replace(/^::ffff:/, "");
  }

  /** One transaction; one result per recipient, in order. Never throws. */
  async send(tx: Transaction): Promise<SentTransaction> {
    const state = {
      results: new Array<DeliveryResult | undefined>(tx.recipients.length).fill(undefined),
      replies: new Array<string | undefined>(tx.recipients.length).fill(undefined),
      unsupported: new Array<boolean>(tx.recipients.length).fill(false),
      completed: false,
    };
    let failure: DeliveryResult = tempfail("transaction ended early");
    if (!this.#usable) {
      failure = tempfail(`${this.#route.host}: the connection is closed`);
    } else {
      try {
        await runTransaction(this.#conn, tx, state);
        // 421: the server is closing the session, whatever it was asked.
        if (state.replies.some((r) => r?.startsWith("421"))) this.#usable = false;
        // A transaction that stopped short is reset, so the session can carry the next.
        if (this.#usable && !state.completed && !isPositive(await this.#conn.reset())) {
          this.#usable = false;
        }
      } catch (error) {
        this.#usable = false;
        this.#conn.close();
        failure = tempfail(`${this.#route.host}: ${errorMessage(error)}`);
      }
    }
    // RFC 3461 §4.1: a server that offers DSN took the NOTIFY request on; one that does not
    // leaves success to be reported here as "relayed". LMTP delivers: neither.
    const dsn = this.#conn.capabilities.dsn ? "passed" : "relayed";
    const relay = hostText({ address: this.peerAddress, host: this.#route.host });
    const source = this.localAddress;
    const results = state.results.map((r, i): DeliveryResult => {
      const result: DeliveryResult = r === undefined
        ? failure
        : r.kind === "ok" && this.#route.protocol === "smtp"
        ? { kind: "ok", dsn }
        : r;
      const reply = state.replies[i]?.trimEnd();
      return {
        ...result,
        hop: { relay, ...(source ? { source } : {}), ...(reply ? { reply } : {}) },
      };
    });
    for (const [i, result] of results.entries()) {
      const outcome = result.kind === "ok"
        ? `Ok ${state.replies[i] ?? ""}`
        : `${result.kind === "tempfail" ? "TempFail" : "PermFail"} ${result.reason}`;
      this.#log.info(
        `smtp-out: session ${this.id} envelope from=<${tx.sender}> to=<${tx.recipients[i]}> ` +
          `via ${this.#route.host} [${this.#conn.peer}]: ${outcome.trimEnd()}`,
      );
    }
    return { results, unsupported: state.unsupported };
  }

  /** QUIT and close. */
  async close(): Promise<void> {
    this.#usable = false;
    try {
      await this.#conn.quit();
    } finally {
      this.#markClosed();
    }
  }
}

// Greeting, EHLO, TLS, AUTH; undefined when the session is ready for MAIL. Every refusal
// here is this session's failure, not an answer about the recipient (OpenSMTPD's
// mta_error(): "BANNER rejected", "HELO rejected" tempfail the task): temporary, whatever
// the code, so the next host is tried and, when none is left, the envelope waits.
async function setUp(
  conn: ClientConnection,
  route: RelayRoute,
  notes: string[],
): Promise<SessionFailure | undefined> {
  const failed = (failure: DeliveryFailure, final = false): SessionFailure => ({
    kind: "failed",
    failure,
    ...(final ? { final } : {}),
  });
  const greeting = await conn.greeting();
  if (greeting.code !== 220) {
    return failed(tempfail(`${route.host}: greeting: ${replyText(greeting)}`));
  }
  // helo-src names this end by the address the connection actually has.
  const local = conn.localAddress?.replace(/^::ffff:/, "");
  let named: string | undefined;
  try {
    named = local ? await route.heloFor?.(local) : undefined;
  } catch (error) {
    // A helo-src table that cannot answer now (its server is down): try again later.
    return failed(tempfail(`4.3.0 helo-src lookup failed: ${errorMessage(error)}`));
  }
  const helo = named || route.helo;
  let hello = await conn.hello(helo);
  if (!isPositive(hello)) return failed(tempfail(`${route.host}: EHLO: ${replyText(hello)}`));
  if (route.security === "starttls" || route.security === "opportunistic") {
    if (conn.capabilities.startTls) {
      const refused = await conn.startTls(clientTls(route));
      if (refused && route.security === "starttls") {
        return failed(tempfail(`4.7.0 STARTTLS refused by ${route.host}: ${replyText(refused)}`));
      }
      if (!refused) {
        // RFC 3207 §4.2: what was said before TLS is forgotten; EHLO again.
        hello = await conn.hello(helo);
        if (!isPositive(hello)) {
          return failed(tempfail(`${route.host}: EHLO after STARTTLS: ${replyText(hello)}`));
        }
      }
    } else if (route.security === "starttls") {
      return failed(tempfail(`4.7.0 TLS required but not supported by ${route.host}`));
    }
  }
  if (conn.tls && route.verify && !conn.tls.verified) {
    return failed(tempfail(
      `4.7.5 certificate of ${route.host} not verified: ${conn.tls.verifyError ?? "untrusted"}`,
    ));
  }
  if (route.tlsPolicy) {
    const verdict = checkTlsDecision(route.tlsPolicy, conn.tls, route.host);
    if (verdict.failure) return failed(tempfail(verdict.failure));
    if (verdict.note) notes.push(verdict.note);
  }
  if (route.credentials) {
    // Credentials never travel in clear, whatever the configuration says.
    if (!conn.tls) {
      return failed(tempfail(`4.7.0 refusing to AUTH to ${route.host} without TLS`), true);
    }
    const reply = await conn.authenticate(route.credentials);
    if (reply === undefined) {
      const offered = conn.capabilities.authMechanisms.join(" ") || "none";
      return failed(
        tempfail(`4.7.0 ${route.host} offers no AUTH mechanism this client speaks (${offered})`),
        true,
      );
    }
    if (reply.code !== 235) {
      // Even a 535 waits for another try (OpenSMTPD's "AUTH rejected" is an mta_error();
      // Postfix's smtp_sasl_auth_soft_bounce): wrong credentials are the operator's to fix,
      // and bouncing meanwhile would return every sender's mail. The same credentials go
      // to every host, so none is tried next.
      return failed(tempfail(`AUTH to ${route.host} refused: ${replyText(reply)}`), true);
    }
  }
  return undefined;
}

// ` tls-policy=dane (DANE: …)` for the log line of a route a TLS policy decided.
function policyOf(route: RelayRoute): string {
  return route.tlsPolicy ? ` tls-policy=${describeDecision(route.tlsPolicy)}` : "";
}

function clientTls(route: RelayRoute): ClientTls {
  return { servername: route.host, ...route.tls };
}

function sessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
