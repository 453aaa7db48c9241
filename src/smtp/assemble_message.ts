// Turns a finished transaction into the message the queue commits: our Received: header
// (RFC 5321 §4.4) in front of the content, From: masqueraded when the listener asks.

import { Buffer } from "node:buffer";
import { concatBytes } from "../mail/mod.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { SessionFacts } from "../rules/mod.ts";
import { masqueradeFrom } from "./masquerade.ts";
import { formatReceived } from "./received.ts";
import type { Transaction } from "./transaction.ts";

/** Where the message came from, as the Received: header tells it. */
export interface MessageOrigin {
  readonly facts: SessionFacts;
  readonly hostname: string;
  readonly msgid: string;
  readonly date: Date;
  /** EHLO (true) or HELO. */
  readonly esmtp: boolean;
  /** The TLS parameters, for an encrypted session. */
  readonly tls?: string;
  /** `received-auth`: name the authenticated user. */
  readonly receivedAuth?: boolean;
  /** `senders <t> masquerade`: From: of an authenticated user's message shows the sender. */
  readonly masquerade?: boolean;
  /** `mask-src`: leave the client out. */
  readonly maskSource?: boolean;
}

/** The message to commit: Received: first, then the content as the client sent it. */
export function assembleMessage(tx: Transaction, origin: MessageOrigin): NewMessage {
  const { facts } = origin;
  const authUser = facts.authUser;
  const received = formatReceived({
    helo: facts.helo ?? "unknown",
    ...(facts.rdns === undefined ? {} : { rdns: facts.rdns }),
    ip: facts.src,
    hostname: origin.hostname,
    msgid: origin.msgid,
    // RFC 3848: ESMTP, then S for TLS and A for AUTH; RFC 6531 §3.7.3: UTF8SMTP in
    // place of ESMTP when MAIL carried SMTPUTF8 (which only EHLO offers).
    protocol: (tx.smtputf8 ? "UTF8SMTP" : origin.esmtp ? "ESMTP" : "SMTP") +
      (facts.tls ? "S" : "") + (authUser !== undefined ? "A" : ""),
    ...(origin.receivedAuth && authUser !== undefined ? { authUser } : {}),
    ...(facts.tls ? { tls: origin.tls ?? "TLS" } : {}),
    recipients: tx.recipients,
    ...(origin.maskSource ? { maskSource: true } : {}),
    date: origin.date,
  });
  // The content is built once, from the header and the pieces read; only a masqueraded
  // message is rewritten first.
  const pieces = origin.masquerade && authUser !== undefined && tx.sender !== ""
    ? [masqueradeFrom(concatBytes(tx.chunks), tx.sender)]
    : tx.chunks;
  return {
    msgid: origin.msgid,
    sender: tx.sender,
    helo: facts.helo ?? "",
    src: facts.src,
    content: concatBytes([Buffer.from(received, "latin1"), ...pieces]),
    envelopes: tx.envelopes,
    ...(tx.dsn.ret ? { dsnRet: tx.dsn.ret } : {}),
    ...(tx.dsn.envid ? { dsnEnvid: tx.dsn.envid } : {}),
    ...(tx.smtputf8 ? { smtputf8: true } : {}),
  };
}
