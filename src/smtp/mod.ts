// Public face of the SMTP server box.
export { runSmtpOnStreams, startSmtpServer } from "./server.ts";
export type { SmtpListenerOptions, SmtpServer } from "./server.ts";
export { DEFAULT_LIMITS } from "./session.ts";
export type { SessionContext, SmtpLimits } from "./session.ts";
export { formatReply, parseReply, REPLIES } from "./replies.ts";
export type { Reply } from "./replies.ts";
export { isValidMailbox, parsePathArgument } from "./address.ts";
export type { Certificate, ListenerTls } from "./tls.ts";
