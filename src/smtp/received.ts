// The Received: header prepended to every message (RFC 5321 §4.4), in OpenSMTPD's layout.

import { rfc5322Date } from "../mail/mod.ts";

/** What the header says about the session and the message. */
export interface ReceivedInfo {
  readonly helo: string;
  /** The client's reverse DNS name, when known. */
  readonly rdns?: string;
  readonly ip: string;
  readonly hostname: string;
  readonly msgid: string;
  /** ESMTP, ESMTPS, ESMTPA, ESMTPSA, SMTP for HELO, UTF8SMTP[S][A] for SMTPUTF8. */
  readonly protocol: string;
  /** Named only when the message has exactly one recipient. */
  readonly recipients: readonly string[];
  /** The TLS parameters, `TLSv1.3:CIPHER:BITS:NO`, for encrypted sessions. */
  readonly tls?: string;
  /** The authenticated user, with `received-auth`. */
  readonly authUser?: string;
  /** Omit the `from` clause (`listen … mask-src`). */
  readonly maskSource?: boolean;
  readonly date: Date;
}

/** Renders the header with CRLF line ends, folded as OpenSMTPD folds it. */
export function formatReceived(info: ReceivedInfo): string {
  let text = "Received: ";
  if (!info.maskSource) {
    text += `from ${info.helo} (${info.rdns ?? "<unknown>"} [${info.ip}])\r\n\t`;
  }
  text += `by ${info.hostname} (OpenSMTPD) with ${info.protocol} id ${info.msgid}\r\n\t`;
  if (info.tls) {
    // The user name came from the client: nothing but visible characters goes in a header.
    const user = info.authUser?.replace(/[^\x21-\x7e]/g, "?");
    const auth = user === undefined ? "" : ` auth=yes user=${user}`;
    text += `(${info.tls})${auth}\r\n\t`;
  }
  if (info.recipients.length === 1) text += `for <${info.recipients[0]}>;\r\n\t`;
  else text = text.slice(0, -3) + ";\r\n\t";
  return text + formatDate(info.date) + "\r\n";
}

let cachedSecond = -1;
let cachedDate = "";

/** RFC 5322 date-time in UTC, e.g. `Tue, 24 Nov 2026 23:50:27 +0000 (UTC)`; cached per second. */
export function formatDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second === cachedSecond) return cachedDate;
  cachedDate = `${rfc5322Date(date.getTime())} (UTC)`;
  cachedSecond = second;
  return cachedDate;
}
