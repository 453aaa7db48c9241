// The envelope sender a relayed message leaves with: `mail-from` applied, then SRS for mail
// forwarded on behalf of another domain (smtpd.conf(5) `relay … mail-from`, `srs`).

import type { RelayOptions } from "../config/mod.ts";
import { splitAddress } from "../mail/mod.ts";
import { srsEncode } from "./srs.ts";
import type { RelayContext, RelayMessage } from "./relay.ts";

// The domain a forwarded message was addressed to: the one its SRS sender names.
export function srsDomain(message: RelayMessage): string {
  return splitAddress(message.originalRcpt ?? message.rcpt).domain;
}

/**
 * MAIL FROM for the relayed message: `mail-from` applied, then with `srs` (and an `srs
 * key`) a sender this host does not deliver to itself is rewritten under the domain the
 * message was forwarded for, so SPF checks at the next hop pass (OpenSMTPD's mta_session.c:
 * never the null sender, never without an `@`).
 */
export function outgoingSender(
  options: RelayOptions,
  message: RelayMessage,
  context: RelayContext,
): string {
  const sender = rewriteSender(message.sender, options.mailFrom);
  if (!options.srs || !context.srs || !sender.includes("@")) return sender;
  if (context.isLocalSender?.(sender)) return sender;
  const domain = srsDomain(message);
  return domain ? srsEncode(sender, domain, context.srs) : sender;
}

/**
 * `mail-from`: `user@domain` replaces the sender, `@domain` only its domain, `user` (or
 * `user@`) only its local part. The null sender stays null: bounces are never given one.
 */
export function rewriteSender(sender: string, mailFrom: string | undefined): string {
  if (mailFrom === undefined || sender === "") return sender;
  const { local: user, domain } = splitAddress(sender);
  const { local: newUser, domain: newDomain } = splitAddress(mailFrom);
  const finalUser = newUser || user;
  const finalDomain = newDomain || domain;
  return finalDomain ? `${finalUser}@${finalDomain}` : finalUser;
}
