// Turns a queued envelope into a delivery: finds its action, expands the recipient
// (aliases, virtual, ~/.forward), works out the user it runs as, and hands the message
// to the method — maildir, mbox, mda or lmtp — or to a `|command` or `/file` target.

import type { Action, Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { DELIVERED, errorMessage, permfail, tempfail } from "../mail/mod.ts";
import type { DeliverFunction, DeliveryOutcome, QueuedEnvelope } from "../queue/mod.ts";
import { type Table, withTableLookups } from "../tables/mod.ts";
import { type DeliveryUser, type ExpandContext, expandEnvelope } from "./expand.ts";
import { deliveredToLoop } from "./delivered_to_loop.ts";
import { failureOfTarget } from "./failed_child.ts";
import { maildirPathFor } from "./maildir_path.ts";
import { messageHeader } from "./message_header.ts";
import { deliverByLmtp } from "./lmtp.ts";
import type { MailboxWriter } from "./mailbox_writer.ts";
import { batchMailboxWrites } from "./mailbox_batch.ts";
import { createLocalAgents, type DeliveryAgents } from "./agents.ts";
import { MAILDIR_FOLDER_REGEXP } from "./mailbox_request.ts";
import { RefusedRequest } from "./mailbox_request_check.ts";
import { systemMailSpool } from "./mail_spool.ts";
import { type RelayContext, relayEnvelope } from "../relay/mod.ts";

export type { DeliveryUser } from "./expand.ts";

/** Options of {@link createDeliveryRouter}. */
export interface DeliveryRouterOptions {
  readonly config: Config;
  /** The config file's directory, against which relaying resolves relative files. */
  readonly baseDir: string;
  /** System users (getpwnam). */
  readonly lookupUser: (name: string) => Promise<DeliveryUser | undefined>;
  readonly log: Logger;
  /** The open tables, for `alias`, `virtual` and `userbase`. */
  readonly tables?: ReadonlyMap<string, Table>;
  /** Routes an address an expansion produced, as a local submission. */
  readonly route?: (
    address: string,
    sender: string,
  ) => { action: string; user?: string } | undefined;
  /** Where mailboxes are written (as their users when the daemon is root). */
  readonly writer: MailboxWriter;
  /** The mbox spool (default /var/mail, or $SMTPD_MAIL_SPOOL). */
  readonly mailSpool?: string;
  /** Deliveries run as their users (the daemon is root, or has a privileged parent). */
  readonly asUsers?: boolean;
  /** Who runs commands and reads users' files (default: this process). */
  readonly agents?: DeliveryAgents;
  /** This host's name and DNS settings, for relaying. */
  readonly relay?: RelayContext;
}

/** Builds the function the scheduler calls for each envelope. */
export function createDeliveryRouter(options: DeliveryRouterOptions): DeliverFunction {
  const actions = new Map(options.config.actions.map((a) => [a.name, a] as const));
  const tables = options.tables ?? new Map();
  const spool = options.mailSpool ?? systemMailSpool();
  // Relaying reads the `auth` tables and the `pki`/`ca` files the configuration names.
  const relay = {
    hostname: "localhost",
    ...options.relay,
    log: options.log,
    tables,
    config: options.config,
    baseDir: options.baseDir,
  };
  const agents = options.agents ??
    createLocalAgents({ config: options.config, log: options.log, asUsers: !!options.asUsers });
  // The recipients of one message, delivered side by side, reach a user's mailboxes as one
  // write request carrying the message once.
  const settings = { ...options, spool, agents, writer: batchMailboxWrites(options.writer) };
  return async (envelope, content, context) => {
    const action = actions.get(envelope.action);
    if (!action) return permfail(`no action named "${envelope.action}" in the configuration`);
    if (action.method.kind === "relay") {
      return await relayEnvelope(action.method, {
        sender: envelope.sender,
        rcpt: envelope.dest ?? envelope.rcpt,
        originalRcpt: envelope.rcpt,
        ...(relayDsn(envelope, context) ?? {}),
        content,
        msgid: envelope.msgid,
      }, relay);
    }
    try {
      const users = userSource(action, tables, options);
      const target = envelope.target;
      const failure = failureOfTarget(target);
      if (failure !== undefined) return permfail(failure);
      // Every local delivery (not an expansion, not a relay) first looks for a loop.
      const loop = () => deliveredToLoop(content, envelope.dest ?? envelope.rcpt);
      if (target?.startsWith("|") || target?.startsWith("/")) {
        const looped = loop();
        if (looped) return permfail(looped);
        const runAs = await identityFor(target, envelope.user, users, options);
        if (!runAs) return permfail(`unknown user "${envelope.user}" for ${target}`);
        return target.startsWith("|")
          ? await agents.runPipe({
            action: action.name,
            command: target.slice(1),
            user: runAs,
            sender: envelope.sender,
            rcpt: envelope.rcpt,
            dest: envelope.dest ?? envelope.rcpt,
          }, content)
          : await appendToFile(target, envelope, content, runAs, settings);
      }
      let user: DeliveryUser | undefined;
      let extension: string | undefined;
      if (target !== undefined) {
        user = await users(target);
        if (!user) return permfail(`5.1.1 unknown user "${target}"`);
      } else {
        const expansion = await withTableLookups(() =>
          expandEnvelope(envelope, expandContext(action, tables, users, envelope.sender, settings))
        );
        if (expansion.kind === "error") {
          return expansion.permanent ? permfail(expansion.reason) : tempfail(expansion.reason);
        }
        if (expansion.kind === "expand") return { kind: "expand", children: expansion.children };
        user = expansion.user;
        extension = expansion.extension;
      }
      const looped = loop();
      if (looped) return permfail(looped);
      return await deliverToUser(
        action,
        envelope,
        content,
        user,
        extension,
        context.recovered,
        settings,
      );
    } catch (error) {
      // A refused request (a privileged parent's check, root) would be refused again: it
      // bounces now. File system errors (no space, permissions) are worth retrying.
      return error instanceof RefusedRequest
        ? permfail(errorMessage(error))
        : tempfail(errorMessage(error));
    }
  };
}

/** Looks a user up by name. */
export type UserSource = (name: string) => Promise<DeliveryUser | undefined>;

// An action's users: its `userbase` table (uid:gid:home), else the system's accounts.
/** The users an action delivers to: its `userbase`, else the system's. */
export function userSource(
  action: Action,
  tables: ReadonlyMap<string, Table>,
  options: DeliveryRouterOptions,
): UserSource {
  const userbase = action.userbase ? tables.get(action.userbase.name) : undefined;
  if (!userbase) return options.lookupUser;
  // A network userbase answers only inside a lookup scope (an expanded envelope's user).
  return async (name) => {
    const value = await withTableLookups(() => userbase.lookup("userinfo", name));
    if (value === undefined) return undefined;
    const [uid, gid, ...home] = value.split(":");
    return { name, uid: Number(uid), gid: Number(gid), home: home.join(":") };
  };
}

/** What expanding a recipient of the action needs, from the router's options. */
export function expandContext(
  action: Action,
  tables: ReadonlyMap<string, Table>,
  users: UserSource,
  sender: string,
  options: DeliveryRouterOptions & { agents: DeliveryAgents },
): ExpandContext {
  return {
    action,
    tables,
    subAddrDelim: options.config.smtp.subAddrDelim,
    lookupUser: users,
    readForward: (user) => options.agents.readForward(user),
    readInclude: (path) => options.agents.readInclude(path),
    route: (address) => options.route?.(address, sender),
    // Commands and files of the aliases table run unprivileged (OpenSMTPD: _smtpd).
    aliasUser: action.user ?? (options.asUsers ? "nobody" : ""),
  };
}

// Who runs a `|command` or `/file` target: the user who named it, or (for the aliases
// table, when not root) the daemon itself.
async function identityFor(
  target: string,
  name: string | undefined,
  users: UserSource,
  options: DeliveryRouterOptions,
): Promise<DeliveryUser | undefined> {
  if (!name) return daemonIdentity();
  const user = await users(name) ?? await options.lookupUser(name);
  if (user && options.asUsers && user.uid === 0) {
    // OpenSMTPD refuses commands and files as root; so does this.
    throw new RefusedRequest(`${target}: will not run as root`);
  }
  return user;
}

function daemonIdentity(): DeliveryUser {
  const uid = safe(() => Deno.uid()) ?? 0;
  const gid = safe(() => Deno.gid()) ?? 0;
  return { name: Deno.env.get("USER") ?? "smtpd", uid, gid, home: "/" };
}

async function deliverToUser(
  action: Action,
  envelope: QueuedEnvelope,
  content: Uint8Array,
  user: DeliveryUser,
  extension: string | undefined,
  recovered: boolean,
  options: DeliveryRouterOptions & { spool: string; agents: DeliveryAgents },
): Promise<DeliveryOutcome> {
  // `user NAME`: every delivery of the action runs as that one account.
  const identity = action.user ? await options.lookupUser(action.user) : user;
  if (!identity) return permfail(`unknown user "${action.user}" (action "${action.name}")`);
  const dest = envelope.dest ?? envelope.rcpt;
  const vars = {
    sender: envelope.sender,
    rcpt: envelope.rcpt,
    dest,
    username: user.name,
    directory: user.home,
    subAddrDelim: options.config.smtp.subAddrDelim,
  };
  const method = action.method;
  switch (method.kind) {
    case "maildir": {
      const path = await maildirPathFor(method.path, vars, identity);
      if ("refusal" in path) return permfail(path.refusal);
      const { dir, home } = path;
      const junk = method.junk === true && isSpam(content);
      const folder = junk ? undefined : subaddressFolder(extension);
      await options.writer.write(identity, {
        kind: "maildir",
        dir: junk ? `${dir}/.Junk` : dir,
        ...(folder === undefined ? {} : { folder }),
        ...(home === undefined ? {} : { home }),
        returnPath: envelope.sender,
        deliveredTo: envelope.rcpt,
        evpid: envelope.evpid,
        recovered,
      }, content);
      return DELIVERED;
    }
    case "mbox": {
      const path = `${options.spool}/${user.name}`;
      // As root the mailbox's user writes it, with what the spool's modes require.
      const writer = await options.agents.spoolIdentity(identity, options.spool, path);
      await options.writer.write(writer, {
        kind: "mbox",
        path,
        sender: envelope.sender,
        deliveredTo: envelope.rcpt,
      }, content);
      return DELIVERED;
    }
    case "mda":
      return await options.agents.runActionMda({
        action: action.name,
        vars,
        user: identity,
        sender: envelope.sender,
        rcpt: envelope.rcpt,
        dest,
        ...(extension === undefined ? {} : { extension }),
      }, content);
    case "lmtp": {
      const [result] = await deliverByLmtp({ target: method.destination }, {
        sender: envelope.sender,
        recipients: [method.rcptTo ? dest : user.name],
        content,
      });
      return result ?? tempfail("lmtp: no reply for the recipient");
    }
    case "forward-only":
    case "expand-only":
      return permfail(`5.7.1 action "${action.name}" (${method.kind}) delivers no local mail`);
    default:
      return permfail(`delivery method "${method.kind}" is not supported`);
  }
}

// Maildir++ folders: `junk` files spam into .Junk; `user+tag` goes into .tag when the
// user made that folder, which the mailbox's writer looks for (it has the user's rights).
function subaddressFolder(extension: string | undefined): string | undefined {
  return extension && MAILDIR_FOLDER_REGEXP.test(extension) ? extension : undefined;
}

const SPAM_REGEXP = /^X-Spam(?:-Flag)?:\s*yes\s*$/im;

function isSpam(content: Uint8Array): boolean {
  return SPAM_REGEXP.test(messageHeader(content.subarray(0, 65536)));
}

async function appendToFile(
  path: string,
  envelope: QueuedEnvelope,
  content: Uint8Array,
  user: DeliveryUser,
  options: DeliveryRouterOptions,
): Promise<DeliveryOutcome> {
  await options.writer.write(
    user,
    { kind: "mbox", path, sender: envelope.sender, namedFile: true },
    content,
  );
  return DELIVERED;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

// The sender's DSN request, as a relay passes it on.
function relayDsn(
  envelope: QueuedEnvelope,
  context: { readonly dsnRet?: "FULL" | "HDRS"; readonly dsnEnvid?: string },
) {
  const dsn = {
    ...(envelope.dsnNotify ? { notify: envelope.dsnNotify } : {}),
    ...(envelope.dsnOrcpt ? { orcpt: envelope.dsnOrcpt } : {}),
    ...(context.dsnRet ? { ret: context.dsnRet } : {}),
    ...(context.dsnEnvid === undefined ? {} : { envid: context.dsnEnvid }),
  };
  return Object.keys(dsn).length > 0 ? { dsn } : undefined;
}
