// Public face of the delivery box: the router the scheduler calls (which expands each
// recipient and hands the message to maildir, mbox, mda, lmtp or relay) and the mailbox
// writer, with the `mailbox.writer` child a root daemon starts per mail user.
export { createDeliveryRouter } from "./router.ts";
export type { DeliveryRouterOptions, DeliveryUser } from "./router.ts";
export { createMailboxWriter } from "./mailbox_writer.ts";
export type { MailboxWriter, MailboxWriterOptions } from "./mailbox_writer.ts";
export { runMailboxWriterChild } from "./mailbox_writer_child.ts";
