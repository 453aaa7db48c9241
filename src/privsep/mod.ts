/**
 * Privilege separation: started as root, a small privileged parent and an unprivileged
 * SMTP front (`smtpd: smtp`, as `_smtpd`, under narrowed Deno permissions) that asks the
 * parent, over a unix socket the parent offers it, for what needs root.
 *
 * @module
 */
export { DEFAULT_FRONT_USER, startPrivsepParent } from "./parent.ts";
export { startSmtpFront } from "./front.ts";
export { frontPermissionFlagsFor } from "./front_permissions.ts";
export { findSetpriv, MAILBOX_WRITER_ROLE, SMTP_FRONT_ROLE } from "./start_front.ts";
