// The SMTP client side of relaying (RFC 5321): greeting, EHLO (HELO when refused),
// STARTTLS when offered or required, MAIL, one RCPT per recipient, DATA with the message
// dot-stuffed, QUIT. Replies decide each recipient: 2xx delivered, 4xx later, 5xx failed.

import { DEFAULT_DELIVERY_TIMEOUTS } from "../config/mod.ts";
import {
  DELIVERED,
  type DeliveryFailure,
  type DeliveryResult,
  errorMessage,
  failureFromReply,
  tempfail,
} from "../mail/mod.ts";
import type { RelayTls } from "./url.ts";

/** One transaction with one server. */
export interface SmtpClientRequest {
  readonly host: string;
  readonly port: number;
  readonly tls: RelayTls;
  /** The name the server's certificate must carry (default: host). */
  readonly servername?: string;
  /** Extra trusted CA certificates (PEM), for `ca` and tests. */
  readonly caCerts?: readonly string[];
  readonly helo: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The message, CRLF line ends, not dot-stuffed. */
  readonly content: Uint8Array;
  /** Per reply, ms (default 300 s, OpenSMTPD's). */
  readonly timeoutMs?: number;
}

/** The transaction's outcome; `retryPlain` when opportunistic TLS failed its handshake. */
export interface SmtpClientOutcome {
  /** What became of each recipient, in the order of the request's. */
  readonly results: readonly DeliveryResult[];
  /** The connection itself failed (refused, timed out, greeting refused): try another host. */
  readonly connectionFailed: boolean;
  readonly retryPlain?: boolean;
}

interface Reply {
  readonly code: number;
  readonly text: string;
  readonly lines: readonly string[];
}

const encoder = new TextEncoder();

/** Runs one transaction; never throws. */
export async function sendOverSmtp(request: SmtpClientRequest): Promise<SmtpClientOutcome> {
  const all = (result: DeliveryResult, connectionFailed = false): SmtpClientOutcome => ({
    results: request.recipients.map(() => result),
    connectionFailed,
  });
  const timeoutMs = request.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUTS.replyMs;
  const tlsOptions = {
    hostname: request.servername ?? request.host,
    ...(request.caCerts ? { caCerts: [...request.caCerts] } : {}),
  };
  let conn: Deno.Conn;
  try {
    conn = request.tls === "smtps"
      ? await withTimeout(
        Deno.connectTls({
          hostname: request.host,
          port: request.port,
          ...(request.caCerts ? { caCerts: [...request.caCerts] } : {}),
        }),
        timeoutMs,
      )
      : await withTimeout(Deno.connect({ hostname: request.host, port: request.port }), timeoutMs);
  } catch (error) {
    return all(
      tempfail(`cannot connect to ${request.host}:${request.port}: ${errorMessage(error)}`),
      true,
    );
  }
  let io = new ReplyReader(conn, timeoutMs);
  const send = (line: string) => writeAll(conn, encoder.encode(line + "\r\n"));
  try {
    const greeting = await io.read();
    if (greeting.code !== 220) return all(classify(greeting), true);
    let ehlo = await command(io, send, `EHLO ${request.helo}`);
    if (ehlo.code >= 500) ehlo = await command(io, send, `HELO ${request.helo}`);
    if (ehlo.code !== 250) return all(classify(ehlo), true);
    const starttls = ehlo.lines.some((l) => /^STARTTLS\b/i.test(l.slice(4)));
    if (request.tls === "starttls" && !starttls) {
      return all(tempfail("4.7.0 TLS required but not supported by remote host"), true);
    }
    if (starttls && (request.tls === "opportunistic" || request.tls === "starttls")) {
      const ready = await command(io, send, "STARTTLS");
      if (ready.code !== 220) {
        if (request.tls === "starttls") return all(classify(ready), true);
      } else {
        try {
          conn = await withTimeout(Deno.startTls(conn as Deno.TcpConn, tlsOptions), timeoutMs);
        } catch (error) {
          // OpenSMTPD's opportunistic TLS: a failed handshake means plain text next time.
          if (request.tls === "opportunistic") {
            return {
              ...all(tempfail(`TLS handshake failed: ${errorMessage(error)}`), true),
              retryPlain: true,
            };
          }
          return all(
            tempfail(`4.7.0 TLS handshake with ${request.host} failed: ${errorMessage(error)}`),
            true,
          );
        }
        io = new ReplyReader(conn, timeoutMs);
        const again = await command(io, send, `EHLO ${request.helo}`);
        if (again.code !== 250) return all(classify(again), true);
      }
    }
    const mail = await command(io, send, `MAIL FROM:<${request.sender}>`);
    if (mail.code !== 250) return all(classify(mail));
    const results: (DeliveryResult | undefined)[] = [];
    for (const rcpt of request.recipients) {
      const reply = await command(io, send, `RCPT TO:<${rcpt}>`);
      results.push(reply.code === 250 || reply.code === 251 ? undefined : classify(reply));
    }
    if (results.every((r) => r !== undefined)) {
      await command(io, send, "QUIT").catch(() => {});
      return { results: results as DeliveryResult[], connectionFailed: false };
    }
    const data = await command(io, send, "DATA");
    if (data.code !== 354) {
      const failed = classify(data);
      return { results: results.map((r) => r ?? failed), connectionFailed: false };
    }
    await writeAll(conn, dotStuff(request.content));
    const done = await io.read();
    const outcome: DeliveryResult = done.code === 250 ? DELIVERED : classify(done);
    await command(io, send, "QUIT").catch(() => {});
    return { results: results.map((r) => r ?? outcome), connectionFailed: false };
  } catch (error) {
    return all(tempfail(`${request.host}: ${errorMessage(error)}`), true);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

async function command(io: ReplyReader, send: (line: string) => Promise<void>, line: string) {
  await send(line);
  return await io.read();
}

/** The failure a refusing reply stands for; the reply itself is the reason. */
function classify(reply: Reply): DeliveryFailure {
  return failureFromReply(reply.code, `${reply.code} ${reply.text}`);
}

/** Reads whole replies (multi-line `250-…` up to `250 …`), each within the timeout. */
class ReplyReader {
  #conn: Deno.Conn;
  #timeoutMs: number;
  #pending = "";
  #buffer = new Uint8Array(16384);
  #decoder = new TextDecoder();

  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  async read(): Promise<Reply> {
    const lines: string[] = [];
    while (true) {
      const line = await this.#line();
      lines.push(line);
      if (!/^\d{3}-/.test(line)) break;
    }
    const last = lines.at(-1)!;
    const code = Number(last.slice(0, 3));
    if (!Number.isInteger(code) || code < 200) throw new Error(`bad reply "${last}"`);
    return { code, text: lines.map((l) => l.slice(4)).join(" ").trim(), lines };
  }

  async #line(): Promise<string> {
    while (true) {
      const end = this.#pending.indexOf("\r\n");
      if (end !== -1) {
        const line = this.#pending.slice(0, end);
        this.#pending = this.#pending.slice(end + 2);
        return line;
      }
      if (this.#pending.length > 65536) throw new Error("reply line too long");
      const n = await withTimeout(this.#conn.read(this.#buffer), this.#timeoutMs);
      if (n === null) throw new Error("connection closed by the server");
      this.#pending += this.#decoder.decode(this.#buffer.subarray(0, n));
    }
  }
}

/** The message for DATA: lines starting with "." doubled, a final CRLF, then ".". */
export function dotStuff(content: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x2e && (i === 0 || content[i - 1] === 0x0a)) dots++;
  }
  const endsWithLine = content.length >= 2 && content[content.length - 2] === 0x0d &&
    content[content.length - 1] === 0x0a;
  const out = new Uint8Array(content.length + dots + (endsWithLine ? 0 : 2) + 3);
  let o = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x2e && (i === 0 || content[i - 1] === 0x0a)) out[o++] = 0x2e;
    out[o++] = content[i]!;
  }
  if (!endsWithLine) {
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  out.set([0x2e, 0x0d, 0x0a], o);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) offset += await conn.write(data.subarray(offset));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
