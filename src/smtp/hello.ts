// HELO and EHLO (RFC 5321 §4.1.1.1): the effect on the session, and the reply: the greeting
// line and, for EHLO, the service extensions the listener offers at this point.

import type { Reply } from "./replies.ts";
import { SASL_MECHANISMS } from "./sasl.ts";
import type { Session } from "./session.ts";
import { report } from "./filtering.ts";

/** Identifies the client and resets any transaction (RFC 5321 §4.1.4), then greets it. */
export function runHello(s: Session, name: string, esmtp: boolean): void {
  s.facts.helo = name;
  s.esmtp = esmtp;
  s.transaction = undefined;
  s.enter("ready");
  report(s, "link-identify", () => [esmtp ? "EHLO" : "HELO", name]);
  s.reply(helloReply({
    hostname: s.context.hostname,
    client: name,
    src: s.facts.src,
    esmtp,
    maxMessageSize: s.limits.maxMessageSize,
    dsn: s.context.dsn !== false,
    startTls: s.canStartTls,
    auth: s.canAuthenticate,
  }));
}

/** What the greeting names and which extensions are on offer now. */
export interface HelloOffer {
  readonly hostname: string;
  /** The name the client gave. */
  readonly client: string;
  /** The client's address. */
  readonly src: string;
  /** EHLO (true) or HELO. */
  readonly esmtp: boolean;
  readonly maxMessageSize: number;
  readonly dsn: boolean;
  /** STARTTLS is offered (configured, not yet done). */
  readonly startTls: boolean;
  /** AUTH is offered (configured, over TLS, not yet done). */
  readonly auth: boolean;
}

/**
 * The 250 reply to HELO (one line) or EHLO (one line per extension).
 *
 * @example
 * ```ts
 * import { helloReply } from "./hello.ts";
 * const offer = { hostname: "mx", client: "c", src: "192.0.2.1", esmtp: false };
 * helloReply({ ...offer, maxMessageSize: 1, dsn: true, startTls: false, auth: false }).text;
 * // "mx Hello c [192.0.2.1], pleased to meet you"
 * ```
 */
export function helloReply(offer: HelloOffer): Reply {
  const greeting = `${offer.hostname} Hello ${offer.client} [${offer.src}], pleased to meet you`;
  if (!offer.esmtp) return { code: 250, text: greeting };
  const lines = [
    greeting,
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    `SIZE ${offer.maxMessageSize}`,
    "PIPELINING",
    ...(offer.dsn ? ["DSN"] : []),
    "SMTPUTF8",
    "CHUNKING",
    ...(offer.startTls ? ["STARTTLS"] : []),
    ...(offer.auth ? [`AUTH ${SASL_MECHANISMS.join(" ")}`] : []),
    "HELP",
  ];
  return { code: 250, text: lines.join("\n") };
}
