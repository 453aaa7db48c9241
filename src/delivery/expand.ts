// Recipient expansion, as aliases(5), forward(5) and smtpd.conf(5) describe it: a
// recipient of a local action becomes users, `|command`s, `/file`s and addresses, through
// the action's `virtual` or `alias` table, `:include:` files and the users' ~/.forward.
// Addresses go back through the ruleset; loops are cut where the expansion has been
// already, and stop at a depth of 10.

import type { Action } from "../config/mod.ts";
import type { NewEnvelope, QueuedEnvelope } from "../queue/mod.ts";
import type { Table } from "../tables/mod.ts";
import { splitValues } from "../tables/mod.ts";
import { errorMessage, splitAddress, virtualKeys } from "../mail/mod.ts";
import { trace } from "../log/mod.ts";
import { failedTarget } from "./failed_child.ts";

/** A user deliveries run as. */
export interface DeliveryUser {
  /** The account name. */
  readonly name: string;
  /** Its user id. */
  readonly uid: number;
  /** Its group id: for a writer, the group it writes with. */
  readonly gid: number;
  /**
   * The user's own group, where `gid` is another one its writes need (the mail spool's):
   * the writer then runs with this as its real gid and `gid` as its effective one.
   */
  readonly realGid?: number;
  /** Its home directory ("" when it has none). */
  readonly home: string;
}

/** One identity's key: the writes (or questions) of the same user gather under it. */
export function deliveryUserKey(user: DeliveryUser): string {
  return `${user.uid}:${user.gid}:${user.name}:${user.home}`;
}

/** What expansion needs from the daemon. */
export interface ExpandContext {
  readonly action: Action;
  readonly tables: ReadonlyMap<string, Table>;
  /** `smtp sub-addr-delim` (default "+"). */
  readonly subAddrDelim: string;
  /** The action's users: its `userbase`, else the system's. */
  lookupUser(name: string): Promise<DeliveryUser | undefined>;
  /** The entries of a user's ~/.forward, or undefined when there is none (or it is unsafe). */
  readForward(user: DeliveryUser): Promise<string[] | undefined>;
  /** Reads an `:include:` file. */
  readInclude(path: string): Promise<string>;
  /** The action and user the ruleset gives an address (re-injected as from local). */
  route(address: string): { action: string; user?: string } | undefined;
  /** Who runs commands and files of the aliases table (not of a user's .forward). */
  readonly aliasUser: string;
}

/** What a recipient expands to. */
export type Expansion =
  /** Exactly the user the envelope names: deliver it as it is. */
  | { readonly kind: "deliver"; readonly user: DeliveryUser; readonly extension?: string }
  /** Anything else: these envelopes replace it. */
  | { readonly kind: "expand"; readonly children: readonly NewEnvelope[] }
  | { readonly kind: "error"; readonly permanent: boolean; readonly reason: string };

/** How deep aliases, includes and forwards may nest (OpenSMTPD's limit). */
export const EXPANSION_DEPTH = 10;

/**
 * How many entries of what an expansion went through its children carry at most: past
 * it they carry only their own path (still enough to cut every loop), not their siblings.
 */
export const EXPANDED_KEPT = 1000;

interface Found {
  /** `via`: in a virtual expansion, the nearest address the user was reached by. */
  users: { name: string; noForward: boolean; via?: string }[];
  commands: { value: string; runAs: string }[];
  files: { value: string; runAs: string }[];
  addresses: string[];
  errors: { reason: string; dest?: string }[];
}

/** Expands one envelope of a local action. */
export async function expandEnvelope(
  envelope: QueuedEnvelope,
  ctx: ExpandContext,
): Promise<Expansion> {
  const hops = envelope.hops ?? 0;
  if (hops >= EXPANSION_DEPTH) {
    return { kind: "error", permanent: true, reason: "5.4.6 alias expansion loop or too deep" };
  }
  // An address an earlier expansion produced is expanded as itself, not as the original.
  const { local, domain } = splitAddress((envelope.dest ?? envelope.rcpt).toLowerCase());
  const cut = local.indexOf(ctx.subAddrDelim);
  const bare = cut > 0 ? local.slice(0, cut) : local;
  const extension = cut > 0 ? local.slice(cut + ctx.subAddrDelim.length) : undefined;
  const table = (ref: Action["alias"]) => ref ? ctx.tables.get(ref.name) : undefined;
  // The user the recipient names; with `user NAME` the envelope carries that account
  // instead, which only says who runs the delivery.
  const named = ctx.action.user ? bare : envelope.user ?? bare;
  const virtual = table(ctx.action.virtual);
  const alias = table(ctx.action.alias);

  const found: Found = { users: [], commands: [], files: [], addresses: [], errors: [] };
  // One tree per original recipient, as OpenSMTPD's: what its expansion went through
  // before this envelope (an address forwarded to, a user whose ~/.forward was read) is
  // not gone through again, so a .forward loop ends with one copy for each user.
  const seen = new Set<string>(envelope.expanded);
  seen.add(`${local}@${domain}`);
  let start: string[];
  if (virtual) {
    let value: string | undefined;
    for (const key of virtualKeys(`${local}@${domain}`, ctx.subAddrDelim)) {
      value = virtual.lookup("alias", key);
      if (value !== undefined) break;
    }
    if (value === undefined) {
      return { kind: "error", permanent: true, reason: "5.1.1 no virtual entry for the recipient" };
    }
    seen.add(`${bare}@${domain}`);
    start = splitValues(value);
  } else {
    const value = alias?.lookup("alias", local) ?? alias?.lookup("alias", bare);
    if (value !== undefined) seen.add(bare);
    start = value === undefined ? [named] : splitValues(value);
  }
  const walk = { seen, found, ctx, virtual, alias, runAs: ctx.aliasUser };
  // Through a virtual table each user is delivered for the address that named it (its
  // %{dest}), once per such address, as OpenSMTPD's expand tree keeps a user node for each
  // address ancestor: team@ → gilles@, eric@ → vmail is two deliveries, not one.
  const problem = await resolveValues(start, 0, walk, virtual ? `${local}@${domain}` : undefined);
  if (problem) return problem;

  // Users exist, and their ~/.forward (when safe) replaces plain delivery. A user a
  // .forward names is looked up like one of the aliases table, and its own .forward read.
  const users: { user: DeliveryUser; via?: string }[] = [];
  const deliverOnce = (user: DeliveryUser, via: string | undefined) => {
    if (seen.has(userKey(user.name, true, via))) return;
    seen.add(userKey(user.name, true, via));
    users.push({ user, ...(via === undefined ? {} : { via }) });
  };
  let looped = 0;
  for (let n = 0; n < found.users.length; n++) {
    const { name, noForward, via } = found.users[n]!;
    if (seen.has(userKey(name, noForward, via))) {
      looped++;
      continue;
    }
    if (!noForward) seen.add(userKey(name, false, via));
    const user = await ctx.lookupUser(name);
    if (!user) {
      found.errors.push({ reason: `5.1.1 unknown user "${name}"`, dest: `${name}@${domain}` });
      continue;
    }
    const forward = noForward || ctx.action.user ? undefined : await ctx.readForward(user);
    if (!forward) {
      deliverOnce(user, via);
      continue;
    }
    for (const entry of forward) {
      const value = unquote(entry);
      if (value.startsWith("|")) found.commands.push({ value, runAs: user.name });
      else if (value.startsWith("/")) found.files.push({ value, runAs: user.name });
      else if (value.includes("@") || value.includes(":")) found.addresses.push(value);
      // Naming oneself (or `\self`) keeps a copy in the user's own mailbox.
      else if (value.replace(/^\\/, "").toLowerCase() === user.name) deliverOnce(user, via);
      else {
        // aliases(5)'s `user`, as forward(5) allows: a local user (or an alias).
        const nested = await resolveValues([value], 1, walk, via);
        if (nested) return nested;
      }
    }
  }

  // A temporary problem anywhere is tried again as a whole, later (nothing is queued yet).
  const temporary = found.errors.find((e) => /^4/.test(e.reason));
  if (temporary) return { kind: "error", permanent: false, reason: temporary.reason };

  const next = hops + 1;
  const actionName = ctx.action.name;
  const addresses: { address: string; action: string; user?: string }[] = [];
  for (const { name } of unique(found.addresses.map((a) => ({ name: a.toLowerCase() })))) {
    if (seen.has(name)) {
      looped++;
      continue;
    }
    const routed = ctx.route(name);
    if (!routed) {
      found.errors.push({
        reason: `5.7.1 no rule accepts the expanded address <${name}>`,
        dest: name,
      });
      continue;
    }
    addresses.push({ address: name, ...routed });
  }

  const delivering = users.length + found.commands.length + found.files.length +
    addresses.length;
  if (delivering === 0) {
    const reason = found.errors[0]?.reason ??
      (looped > 0
        ? "5.4.6 forwarding loop: the recipient expands only to what it came from"
        : "5.2.4 the recipient expands to nothing");
    return { kind: "error", permanent: true, reason };
  }
  // The common case: the recipient is just the user it names.
  if (
    users.length === 1 && users[0]!.user.name === named && delivering === 1 &&
    found.errors.length === 0 && envelope.target === undefined
  ) {
    return {
      kind: "deliver",
      user: users[0]!.user,
      ...(extension === undefined ? {} : { extension }),
    };
  }

  const children: NewEnvelope[] = [];
  for (const { user, via } of users) {
    children.push({
      rcpt: envelope.rcpt,
      action: actionName,
      user: user.name,
      dest: via ?? `${user.name}@${domain}`,
      target: user.name,
      hops: next,
    });
  }
  for (const c of [...found.commands, ...found.files]) {
    children.push({
      rcpt: envelope.rcpt,
      action: actionName,
      user: c.runAs,
      target: c.value,
      hops: next,
    });
  }
  // The addresses go on carrying the tree: a sibling reached again further down is cut.
  if (seen.size + addresses.length <= EXPANDED_KEPT) {
    for (const { address } of addresses) seen.add(address);
  }
  const expanded = [...seen];
  for (const { address, action, user } of addresses) {
    children.push({
      rcpt: envelope.rcpt,
      action,
      ...(user === undefined ? {} : { user }),
      dest: address,
      hops: next,
      expanded,
    });
  }
  // What cannot be delivered is not dropped: it fails on its own, and is reported.
  for (const { reason, dest } of found.errors) {
    children.push({
      rcpt: envelope.rcpt,
      action: actionName,
      ...(dest === undefined ? {} : { dest }),
      target: failedTarget(reason),
      hops: next,
    });
  }
  trace("expand", () =>
    `${envelope.evpid} <${envelope.rcpt}>: ${children.length} ` +
    `(${children.map((c) => c.target ?? c.dest ?? c.rcpt).join(", ")})`);
  return { kind: "expand", children };
}

// A user reached by the expansion: `\name` is delivered as it is, `~name` has its
// ~/.forward read; through a virtual table, once for each address that reached it.
function userKey(name: string, noForward: boolean, via?: string): string {
  return `${noForward ? "\\" : "~"}${name}${via === undefined ? "" : ` ${via}`}`;
}

/** What a walk through alias values carries along. */
interface Walk {
  readonly seen: Set<string>;
  readonly found: Found;
  readonly ctx: ExpandContext;
  readonly virtual: Table | undefined;
  readonly alias: Table | undefined;
  /** Who runs the commands and files found. */
  readonly runAs: string;
}

// Walks alias values: tables, includes and nested aliases, collecting what they name.
async function resolveValues(
  values: readonly string[],
  depth: number,
  walk: Walk,
  via: string | undefined,
): Promise<Expansion | undefined> {
  if (depth > EXPANSION_DEPTH) {
    return { kind: "error", permanent: true, reason: "5.4.6 alias expansion loop or too deep" };
  }
  const { seen, found } = walk;
  // Each nested list (an include, a chained virtual entry, a nested alias) is walked once;
  // a chained virtual entry is the nearest address of what it names.
  const descend = (key: string, nested: readonly string[], reachedBy = via) => {
    seen.add(key);
    return resolveValues(nested, depth + 1, walk, reachedBy);
  };
  for (const raw of values) {
    const value = unquote(raw);
    let problem: Expansion | undefined;
    if (value === "") continue;
    if (value.startsWith("|")) found.commands.push({ value, runAs: walk.runAs });
    else if (value.startsWith("/")) found.files.push({ value, runAs: walk.runAs });
    else if (value.toLowerCase().startsWith(":include:")) {
      const path = value.slice(9).trim();
      if (seen.has(`:include:${path}`)) continue;
      let text: string;
      try {
        text = await walk.ctx.readInclude(path);
      } catch (error) {
        return {
          kind: "error",
          permanent: false,
          reason: `4.2.4 cannot read ${path}: ${errorMessage(error)}`,
        };
      }
      const entries = text.split("\n").filter((l) => !l.trim().startsWith("#"))
        .flatMap(splitValues);
      problem = await descend(`:include:${path}`, entries);
    } else if (value.toLowerCase().startsWith("error:")) {
      found.errors.push({ reason: value.slice(6).trim() });
    } else if (value.includes("@")) {
      const key = value.toLowerCase();
      const chained = walk.virtual && !seen.has(key)
        ? walk.virtual.lookup("alias", key)
        : undefined;
      if (chained !== undefined) problem = await descend(key, splitValues(chained), key);
      else found.addresses.push(value);
    } else {
      const noForward = value.startsWith("\\");
      const name = value.replace(/^\\/, "").toLowerCase();
      const nested = !noForward && walk.alias && !seen.has(name)
        ? walk.alias.lookup("alias", name)
        : undefined;
      if (nested !== undefined) problem = await descend(name, splitValues(nested));
      else found.users.push({ name, noForward, ...(via === undefined ? {} : { via }) });
    }
    if (problem) return problem;
  }
  return undefined;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}

function unique<T extends { name: string }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.name) && seen.add(i.name));
}
