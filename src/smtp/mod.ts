/**
 * The SMTP server: listeners, one session per connection with its command table and
 * state machine (RFC 5321, ESMTP extensions, STARTTLS, AUTH), and the assembled message
 * handed to the queue.
 *
 * @module
 */
export { runSmtpOnStreams, startSmtpServer } from "./server.ts";
export type { SmtpListenerOptions, SmtpServer } from "./server.ts";
export { submitInSession } from "./local_session.ts";
export type { LocalSessionMessage, LocalSessionOutcome } from "./local_session.ts";
export { DEFAULT_LIMITS } from "./limits.ts";
export { DATA_BUDGET_BYTES, DataBudget } from "./data_budget.ts";
export { isValidMailbox, MAX_PATH_LENGTH } from "./address.ts";
export type { SmtpLimits } from "./limits.ts";
export type { RdnsAnswer, SessionContext } from "./session_context.ts";
export type { Certificate, ListenerTls } from "./tls.ts";
