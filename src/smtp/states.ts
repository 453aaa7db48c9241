// The states of an SMTP session. Which command is allowed in which state is written in
// the command table (commands.ts), not here.

/**
 * - `greeting`: connected, no HELO/EHLO yet
 * - `ready`: identified, no transaction
 * - `mail`: MAIL FROM accepted, no recipient yet
 * - `rcpt`: at least one recipient accepted
 * - `auth`: in a SASL exchange; lines are answers to the server's challenges
 * - `data`: reading the message after DATA
 * - `bdat`: reading a BDAT chunk (RFC 3030)
 * - `closing`: QUIT, an error or a timeout; nothing more is read
 */
export type SessionState =
  | "greeting"
  | "ready"
  | "auth"
  | "mail"
  | "rcpt"
  | "data"
  | "bdat"
  | "closing";
