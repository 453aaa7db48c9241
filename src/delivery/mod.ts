// Public face of the delivery box: the agent the scheduler calls, recipient expansion,
// and the writers (Maildir, mbox, mda, lmtp).
export { createDeliveryAgent } from "./agent.ts";
export type { DeliveryAgentOptions, DeliveryUser } from "./agent.ts";
export { expandEnvelope, EXPANSION_DEPTH } from "./expand.ts";
export type { ExpandContext, Expansion } from "./expand.ts";
export { deliverToMaildir, isAlreadyDelivered } from "./maildir.ts";
export type { MaildirDelivery } from "./maildir.ts";
export { deliverToMbox, formatMboxEntry } from "./mbox.ts";
export type { MboxDelivery } from "./mbox.ts";
export { runMda, shellSafe } from "./mda.ts";
export type { MdaRun } from "./mda.ts";
export { deliverByLmtp } from "./lmtp.ts";
export type { LmtpDestination, LmtpMessage } from "./lmtp.ts";
export { createMailboxWriter } from "./mailbox_writer.ts";
export type { MailboxWriter, MailboxWriterOptions } from "./mailbox_writer.ts";
export { runMailAgent } from "./mail_agent.ts";
export { readForwardFile } from "./forward.ts";
export { expandFormat, needsDirectory } from "./format.ts";
export type { FormatOptions, FormatVars } from "./format.ts";
