// SMTP AUTH for a listener: where its credentials come from (`auth <table>` or the
// system's accounts) and which senders an authenticated user may use (`senders <t>`).

import { type Authenticator, systemAuthenticator, tableAuthenticator } from "../auth/mod.ts";
import type { Listener } from "../config/mod.ts";
import { splitAddress, untaggedLocal } from "../mail/mod.ts";
import type { SmtpListenerOptions } from "../smtp/mod.ts";
import { type TableSet, withTableLookups } from "../tables/mod.ts";

/**
 * The `auth` option of a listener, or undefined when it offers no AUTH. System accounts
 * are checked by `system` (a privileged parent), else by reading /etc/shadow here.
 */
export function listenerAuth(
  listener: Listener,
  tables: TableSet,
  system?: Authenticator,
): SmtpListenerOptions["auth"] | undefined {
  if (!listener.auth) return undefined;
  const credentials = listener.auth.table ? tables.get(listener.auth.table.name) : undefined;
  const check = credentials ? tableAuthenticator(credentials) : system ?? systemAuthenticator();
  const senders = listener.senders ? tables.get(listener.senders.table.name) : undefined;
  return {
    required: listener.auth.required,
    check,
    ...(senders
      ? {
        // A senders table answered by a server makes MAIL FROM wait for it.
        senderAllowed: (user: string, sender: string) =>
          withTableLookups(() => ownsSender(senders.lookup("mailaddrmap", user), sender)),
      }
      : {}),
    ...(listener.receivedAuth ? { inReceived: true } : {}),
    ...(listener.senders?.masquerade ? { masquerade: true } : {}),
  };
}

/**
 * Whether a `senders` entry (`a@example.org, @example.net, …`) allows the address: the
 * whole address, its domain (`@domain`), or the address without its `+tag`.
 */
export function ownsSender(entry: string | undefined, sender: string): boolean {
  if (entry === undefined || sender === "") return false;
  const address = sender.toLowerCase();
  const { local } = splitAddress(address);
  const domain = address.slice(local.length);
  const bare = untaggedLocal(local) + domain;
  return entry.split(",").map((e) => e.trim().toLowerCase()).some((allowed) =>
    allowed === address || allowed === bare || (allowed.startsWith("@") && allowed === domain)
  );
}
