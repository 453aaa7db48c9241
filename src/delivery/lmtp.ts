// Delivers a message to an LMTP server (RFC 2033) over TCP or a unix socket through the
// shared client core, and reports one result per recipient: LMTP answers the final dot
// once for each accepted recipient, so one transaction can end differently for each.

import {
  ChannelError,
  ClientConnection,
  type ClientTarget,
  isPositive,
  replyText,
  runTransaction,
  uniformTimeouts,
} from "../client/mod.ts";
import { WELL_KNOWN_PORTS } from "../config/mod.ts";
import { type DeliveryResult, errorMessage, tempfail } from "../mail/mod.ts";

/** Where the LMTP server is: "host:port", "[ipv6]:port" or "/path/to/unix.socket". */
export interface LmtpDestination {
  readonly target: string;
}

/** One message and its envelope, as handed to {@link deliverByLmtp}. */
export interface LmtpMessage {
  /** The envelope sender; "" is the null sender and becomes `MAIL FROM:<>`. */
  readonly sender: string;
  /** The RCPT TO addresses, in the order the results come back. */
  readonly recipients: readonly string[];
  /** The whole message with CRLF line ends, not dot-stuffed. */
  readonly content: Uint8Array;
  /** The name sent with LHLO, "localhost" by default. */
  readonly lhlo?: string;
  /** Bounds every step at once (tests); RFC 5321's per-command values otherwise. */
  readonly timeoutMs?: number;
}

// LMTP has no well-known port of its own; OpenSMTPD falls back to the "lmtp" service, 24.
const DEFAULT_PORT = WELL_KNOWN_PORTS.lmtp;

/** One LMTP transaction (RFC 2033); resolves with one result per recipient, in order. */
export async function deliverByLmtp(
  dest: LmtpDestination,
  message: LmtpMessage,
): Promise<DeliveryResult[]> {
  const count = message.recipients.length;
  if (count === 0) return [];
  const target = parseLmtpTarget(dest.target);
  if (target === undefined) {
    return new Array(count).fill(tempfail(`invalid LMTP destination "${dest.target}"`));
  }
  const timeouts = message.timeoutMs === undefined ? {} : uniformTimeouts(message.timeoutMs);
  const state = {
    results: new Array<DeliveryResult | undefined>(count).fill(undefined),
    completed: false,
  };
  let failure = tempfail("transaction ended early");
  let conn: ClientConnection | undefined;
  try {
    conn = await ClientConnection.open(target, { protocol: "lmtp", timeouts });
    const greeting = await conn.greeting();
    if (greeting.code !== 220) throw new ChannelError(`greeting: ${replyText(greeting)}`);
    const lhlo = await conn.hello(message.lhlo ?? "localhost");
    if (!isPositive(lhlo)) throw new ChannelError(`LHLO: ${replyText(lhlo)}`);
    await runTransaction(conn, { ...message }, state);
    await conn.quit();
  } catch (error) {
    conn?.close();
    failure = error instanceof ChannelError && error.message.startsWith("cannot connect")
      ? tempfail(error.message)
      : tempfail(`LMTP with ${dest.target}: ${errorMessage(error)}`);
  }
  // Recipients the transaction never got to share the reason it stopped.
  return state.results.map((result) => result ?? failure);
}

/** Parses "host:port", "[ipv6]:port", "host" or "/path"; undefined when malformed. */
export function parseLmtpTarget(target: string): ClientTarget | undefined {
  if (target.startsWith("/")) return { transport: "unix", path: target };
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+))(?::(\d{1,5}))?$/.exec(target);
  if (match === null) return undefined;
  const host = match[1] ?? match[2]!;
  const port = match[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { transport: "tcp", host, port };
}
