/**
 * The SMTP/LMTP client core that relaying and LMTP delivery share: one connection with
 * its greeting, EHLO/LHLO, STARTTLS and AUTH, reply parsing, dot-stuffing, the RFC 5321
 * timeouts, and transactions whose replies decide each recipient.
 *
 * @module
 */
export { ClientConnection, HostNotFoundError } from "./connection.ts";
export type { ClientTarget } from "./connection.ts";
export { ChannelError } from "./channel.ts";
export { isPositive, REPLY_LINES_LIMIT, replyText } from "./reply.ts";
export type { Reply } from "./reply.ts";
export { uniformTimeouts } from "./timeouts.ts";
export type { ClientTimeouts } from "./timeouts.ts";
export { describeTls, systemTrustStore, TlsHandshakeError } from "./tls.ts";
export type { ClientTls, TlsSummary } from "./tls.ts";
export { parseCredentials } from "./auth.ts";
export type { Credentials } from "./auth.ts";
export { runTransaction } from "./transaction.ts";
export type { RecipientDsn, Transaction } from "./transaction.ts";
