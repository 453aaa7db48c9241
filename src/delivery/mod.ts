/**
 * Local delivery: the router the scheduler calls for each envelope (expansion through
 * aliases, virtual tables and ~/.forward, then maildir, mbox, mda, lmtp or relay), and the
 * mailbox writer, with the `mailbox.writer` child a root daemon runs per mail user.
 *
 * @module
 */
export { createDeliveryRouter } from "./router.ts";
export { createRcptExpansionCheck } from "./rcpt_expansion.ts";
export type { RcptExpansionCheck, RcptExpansionRequest, RcptRefusal } from "./rcpt_expansion.ts";
export type { DeliveryRouterOptions, DeliveryUser } from "./router.ts";
export { createMailboxWriter, spawnMailboxWriter } from "./mailbox_writer.ts";
export { FORWARD_KEPT_MS } from "./forward.ts";
export { isSpoolMailbox, systemMailSpool } from "./mail_spool.ts";
export type { StartedWriter, WriterSocket } from "./mailbox_writer.ts";
export { createWriterPool } from "./mailbox_writer_pool.ts";
export type { WriterConnection, WriterPool, WriterPoolOptions } from "./mailbox_writer_pool.ts";
export { deliveryUserKey } from "./expand.ts";
export { batchMailboxWrites } from "./mailbox_batch.ts";
export type { MailboxBatchOptions } from "./mailbox_batch.ts";
export type { MailboxWriter, MailboxWriterOptions } from "./mailbox_writer.ts";
export { runMailboxWriterChild } from "./mailbox_writer_child.ts";
export {
  checkMailboxRequest,
  checkPath,
  checkString,
  mailboxWriteError,
  RefusedRequest,
} from "./mailbox_request_check.ts";
export { MDA_PROGRAM } from "./mda.ts";
export { findSetpriv } from "./setpriv.ts";
export { createLocalAgents } from "./agents.ts";
export type { DeliveryAgents, MdaActionRequest, PipeRequest } from "./agents.ts";
export type { MailboxRequest, MailboxWriteResult } from "./mailbox_request.ts";
export type { FormatVars } from "./format.ts";
