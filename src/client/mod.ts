/**
 * The SMTP/LMTP client core that relaying and LMTP delivery share: one connection with
 * its greeting, EHLO/LHLO, STARTTLS and AUTH, reply parsing, dot-stuffing, the RFC 5321
 * timeouts, and transactions whose replies decide each recipient.
 *
 * @module
 */
export { ClientConnection } from "./connection.ts";
export type { ClientOptions, ClientTarget } from "./connection.ts";
export { ChannelError } from "./channel.ts";
export { isPositive, REPLY_LINE_LIMIT, replyText } from "./reply.ts";
export type { Reply } from "./reply.ts";
export { dotStuff } from "./dot_stuff.ts";
export { parseCapabilities } from "./capabilities.ts";
export type { Capabilities } from "./capabilities.ts";
export { RFC5321_TIMEOUTS, uniformTimeouts } from "./timeouts.ts";
export type { ClientTimeouts } from "./timeouts.ts";
export { describeTls, systemTrustStore, TlsHandshakeError } from "./tls.ts";
export type { ClientTls, TlsSummary } from "./tls.ts";
export { CLIENT_MECHANISMS, parseCredentials } from "./auth.ts";
export type { Credentials } from "./auth.ts";
export { runTransaction } from "./transaction.ts";
export type { RecipientDsn, Transaction, TransactionDsn, TransactionState } from "./transaction.ts";
