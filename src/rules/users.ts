// Which local user a recipient of a local action becomes: through the action's
// `virtual <table>` when it has one, otherwise the recipient's local part.

import type { Action } from "../config/mod.ts";
import type { Table } from "../tables/mod.ts";
import { splitAddress } from "./matchers.ts";

interface UserContext {
  readonly tables: ReadonlyMap<string, Table>;
  readonly subAddrDelim: string;
}

/**
 * Returns a resolver: the user name, `undefined` when the action is not local (relay),
 * or `null` when the recipient resolves to no user (refused at RCPT).
 */
export function resolveLocalUser(
  action: Action,
  ctx: UserContext,
): (rcpt: string) => string | null | undefined {
  if (action.method.kind === "relay") return () => undefined;
  const fixed = action.user;
  const virtual = action.virtual ? ctx.tables.get(action.virtual.name) : undefined;
  if (action.virtual && !virtual) throw new Error(`Table "${action.virtual.name}" is not open`);
  const delim = ctx.subAddrDelim;
  return (rcpt) => {
    const { local, domain } = splitAddress(rcpt.toLowerCase());
    const cut = local.indexOf(delim);
    const bare = cut > 0 ? local.slice(0, cut) : local;
    if (virtual) {
      // Most specific first: the full address, without its tag, then the whole domain.
      const found = virtual.lookup("alias", `${local}@${domain}`) ??
        virtual.lookup("alias", `${bare}@${domain}`) ?? virtual.lookup("alias", `@${domain}`);
      if (found === undefined) return null;
      return fixed ?? found.split(",")[0]!.trim();
    }
    return fixed ?? bare;
  };
}
