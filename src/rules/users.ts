// Which local user a recipient of a local action becomes, decided at RCPT as OpenSMTPD
// does: through `virtual <t>` or `alias <t>` when the action has one, and the user must
// exist (in `userbase <t>`, else among the system's accounts) or the recipient is refused.

import type { Action } from "../config/mod.ts";
import type { Table } from "../tables/mod.ts";
import { splitAddress, virtualKeys } from "../mail/mod.ts";

interface UserContext {
  readonly tables: ReadonlyMap<string, Table>;
  readonly subAddrDelim: string;
  /** Whether a system account exists; without it every user is taken to exist. */
  readonly userExists?: (name: string) => boolean;
}

/** An `error:CODE text` alias or virtual entry: the recipient gets that reply at RCPT. */
export interface AliasError {
  readonly error: string;
}

/**
 * Returns a resolver: the user name, `undefined` when the action is not local (relay),
 * `null` when the recipient resolves to no user (refused at RCPT, no later rule tried),
 * or the reply an `error:` entry asks for.
 */
export function resolveLocalUser(
  action: Action,
  ctx: UserContext,
): (rcpt: string) => string | null | undefined | AliasError {
  if (action.method.kind === "relay") return () => undefined;
  const table = (ref: Action["virtual"]) => {
    if (!ref) return undefined;
    const found = ctx.tables.get(ref.name);
    if (!found) throw new Error(`Table "${ref.name}" is not open`);
    return found;
  };
  const virtual = table(action.virtual);
  const alias = table(action.alias);
  const userbase = table(action.userbase);
  const exists = (user: string): boolean =>
    userbase ? userbase.lookup("userinfo", user) !== undefined : ctx.userExists?.(user) ?? true;
  const fixed = action.user;
  const delim = ctx.subAddrDelim;
  return (rcpt) => {
    const { local } = splitAddress(rcpt.toLowerCase());
    const cut = local.indexOf(delim);
    const bare = cut > 0 ? local.slice(0, cut) : local;
    if (virtual) {
      // Most specific first, in OpenSMTPD's order.
      const found = lookupFirst(virtual, virtualKeys(rcpt, delim));
      if (found === undefined) return null;
      const target = found.split(",")[0]!.trim();
      if (target.startsWith("error:")) return { error: target.slice(6).trim() };
      // A virtual entry naming addresses is expanded at delivery; a user must exist now.
      if (!target.includes("@") && !exists(target)) return null;
      return fixed ?? target;
    }
    // An alias is expanded at delivery; its targets are checked there.
    const aliased = alias?.lookup("alias", local) ?? alias?.lookup("alias", bare);
    if (aliased !== undefined) {
      const first = aliased.split(",")[0]!.trim();
      if (first.startsWith("error:")) return { error: first.slice(6).trim() };
      return fixed ?? bare;
    }
    if (!exists(bare)) return null;
    return fixed ?? bare;
  };
}

function lookupFirst(table: Table, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = table.lookup("alias", key);
    if (value !== undefined) return value;
  }
  return undefined;
}
