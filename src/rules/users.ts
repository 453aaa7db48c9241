// Which local user a recipient of a local action becomes, decided at RCPT as OpenSMTPD
// does: through `virtual <t>` or `alias <t>` when the action has one, and the user must
// exist (in `userbase <t>`, else among the system's accounts) or the recipient is refused.

import type { Action } from "../config/mod.ts";
import { splitValues, type Table } from "../tables/mod.ts";
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
      const targets = splitValues(found);
      const error = targets.find((t) => t.startsWith("error:"));
      if (error) return { error: error.slice(6).trim() };
      // Addresses are expanded at delivery; every user the entry names must exist now.
      if (targets.some((t) => isUserName(t) && !exists(userPart(t, delim)))) return null;
      return fixed ?? targets[0]!;
    }
    // An alias is delivered after expansion; its users are looked up now, through the
    // aliases they are themselves, as OpenSMTPD's lka_expand() does at RCPT.
    const key = alias?.lookup("alias", local) !== undefined ? local : bare;
    const aliased = alias?.lookup("alias", key);
    if (alias && aliased !== undefined) {
      const outcome = checkAliasUsers(splitValues(aliased), {
        alias,
        exists,
        delim,
        seen: new Set([key]),
        depth: 1,
      });
      if (outcome !== "ok") return outcome === "no-user" ? null : outcome;
      return fixed ?? bare;
    }
    if (!exists(bare)) return null;
    return fixed ?? bare;
  };
}

interface AliasWalk {
  readonly alias: Table;
  readonly exists: (user: string) => boolean;
  readonly delim: string;
  /** The users above this entry: one named again is that user itself (OpenSMTPD's sameuser). */
  readonly seen: ReadonlySet<string>;
  readonly depth: number;
}

// "ok", "no-user" when a user the expansion reaches does not exist, or the reply of an
// `error:` entry it reaches. Addresses, commands, files and includes are taken as they are.
function checkAliasUsers(
  values: readonly string[],
  walk: AliasWalk,
): "ok" | "no-user" | AliasError {
  for (const value of values) {
    if (value.startsWith("error:")) return { error: value.slice(6).trim() };
    if (!isUserName(value)) continue;
    const user = value.toLowerCase();
    const further = walk.seen.has(user) ? undefined : walk.alias.lookup("alias", user);
    if (further === undefined) {
      if (!walk.exists(userPart(user, walk.delim))) return "no-user";
      continue;
    }
    if (walk.depth >= EXPANSION_DEPTH) return { error: "524 5.2.4 Mailing list expansion problem" };
    const outcome = checkAliasUsers(splitValues(further), {
      ...walk,
      seen: new Set([...walk.seen, user]),
      depth: walk.depth + 1,
    });
    if (outcome !== "ok") return outcome;
  }
  return "ok";
}

/** How deep aliases may nest before the expansion is refused (OpenSMTPD's limit). */
const EXPANSION_DEPTH = 10;

// A value that names a local user: not an address, command, file, include or error.
function isUserName(value: string): boolean {
  return value !== "" && !value.includes("@") && !/^(\||\/|:include:|error:|")/.test(value);
}

// The account a user name stands for: without its tag (`joe+lists` is joe).
function userPart(user: string, delim: string): string {
  const cut = user.indexOf(delim);
  return cut > 0 ? user.slice(0, cut) : user;
}

function lookupFirst(table: Table, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = table.lookup("alias", key);
    if (value !== undefined) return value;
  }
  return undefined;
}
