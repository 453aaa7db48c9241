// The parent's checks on what the front asks: the front reads the network, so every
// request is treated as possibly hostile. A user must be a real, non-root account the
// configuration could resolve; paths must be plain absolute paths; commands come from the
// configuration, an aliases table or the user's own ~/.forward, never from an envelope.

import type { Action, Config } from "../config/mod.ts";
import type { DeliveryUser, MailboxRequest } from "../delivery/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { splitValues, type SystemUser, type Table, withTableLookups } from "../tables/mod.ts";

/** A request that fails a check. */
export class RefusedRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedRequest";
  }
}

/** What the checks look users and tables up in. */
export interface CheckContext {
  readonly config: Config;
  readonly tables: ReadonlyMap<string, Table>;
  readonly lookupUser: (name: string) => Promise<SystemUser | undefined>;
}

const NAME_REGEXP = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$/;

/** A plain string without NUL (and of a sane length). */
export function checkString(value: unknown, what: string, max = 4096): string {
  if (typeof value !== "string" || value.length > max || value.includes("\0")) {
    throw new RefusedRequest(`${what} is not a valid string`);
  }
  return value;
}

/** An absolute path without `..` segments or NUL. */
export function checkPath(value: unknown, what: string): string {
  const path = checkString(value, what);
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new RefusedRequest(`${what} "${path}" is not a plain absolute path`);
  }
  return path;
}

/**
 * The user a delivery runs as: a name and ids the front cannot invent. It must not be
 * root, and it must be either a system account with exactly these ids and home, or an
 * entry of one of the configuration's `userbase` tables (`uid:gid:home`).
 */
export async function checkUser(value: unknown, ctx: CheckContext): Promise<DeliveryUser> {
  const user = value as Partial<DeliveryUser> | null;
  if (typeof user !== "object" || user === null) throw new RefusedRequest("no user given");
  const name = checkString(user.name, "the user name", 64);
  if (!NAME_REGEXP.test(name)) throw new RefusedRequest(`"${name}" is not a user name`);
  const { uid, gid } = user;
  const home = checkString(user.home, "the home directory");
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid) || uid! < 0 || gid! < 0) {
    throw new RefusedRequest(`user "${name}": bad uid or gid`);
  }
  if (uid === 0 || gid === 0) throw new RefusedRequest(`user "${name}": will not deliver as root`);
  const system = await ctx.lookupUser(name);
  if (system && system.uid === uid && system.gid === gid && system.home === home) {
    return { name, uid: uid!, gid: gid!, home };
  }
  // A userbase answered by a server is waited for. One that cannot answer leaves the
  // user unproven for now: a plain error, which the front takes as a temporary failure.
  let unanswered: unknown;
  for (const action of ctx.config.actions) {
    const table = action.userbase ? ctx.tables.get(action.userbase.name) : undefined;
    if (!table) continue;
    try {
      const entry = await withTableLookups(() => table.lookup("userinfo", name));
      if (entry === `${uid}:${gid}:${home}`) return { name, uid: uid!, gid: gid!, home };
    } catch (error) {
      unanswered ??= error;
    }
  }
  if (unanswered !== undefined) {
    throw new Error(`user "${name}": userbase lookup failed: ${errorMessage(unanswered)}`, {
      cause: unanswered,
    });
  }
  throw new RefusedRequest(
    `user "${name}" (${uid}:${gid}) is neither a system account nor in a userbase table`,
  );
}

/** A mailbox write: a Maildir or an mbox at a plain absolute path. */
export function checkMailboxRequest(value: unknown): MailboxRequest {
  const request = value as Record<string, unknown> | null;
  if (typeof request !== "object" || request === null) throw new RefusedRequest("no request");
  if (request["kind"] === "maildir") {
    const evpid = checkString(request["evpid"], "the envelope id", 64);
    if (!/^[0-9a-f]+$/.test(evpid)) throw new RefusedRequest(`bad envelope id "${evpid}"`);
    const folder = request["folder"];
    if (folder !== undefined && !/^[\w-][\w.-]*$/.test(checkString(folder, "the folder", 256))) {
      throw new RefusedRequest(`bad Maildir folder "${folder}"`);
    }
    return {
      kind: "maildir",
      dir: checkPath(request["dir"], "the Maildir"),
      ...(folder === undefined ? {} : { folder: folder as string }),
      returnPath: checkString(request["returnPath"], "the sender"),
      deliveredTo: checkString(request["deliveredTo"], "the recipient"),
      evpid,
      recovered: request["recovered"] === true,
    };
  }
  if (request["kind"] === "mbox") {
    const deliveredTo = request["deliveredTo"];
    return {
      kind: "mbox",
      path: checkPath(request["path"], "the mbox"),
      sender: checkString(request["sender"], "the sender"),
      ...(deliveredTo === undefined
        ? {}
        : { deliveredTo: checkString(deliveredTo, "the recipient") }),
    };
  }
  throw new RefusedRequest("unknown mailbox kind");
}

/** The action a request names, which must exist in the configuration. */
export function checkAction(value: unknown, ctx: CheckContext): Action {
  const name = checkString(value, "the action", 256);
  const action = ctx.config.actions.find((a) => a.name === name);
  if (!action) throw new RefusedRequest(`no action named "${name}"`);
  return action;
}

/**
 * A `|command` may run only where something the user or the operator wrote names it: in
 * the user's own ~/.forward (read again here), or — run as the action's alias user — in
 * a value of the action's `alias` or `virtual` table or an `:include:` file they name.
 */
export async function checkPipeCommand(
  command: string,
  action: Action,
  user: DeliveryUser,
  ctx: CheckContext & {
    readonly readForward: (user: DeliveryUser) => Promise<string[] | undefined>;
    readonly readInclude: (path: string) => Promise<string>;
  },
): Promise<void> {
  const wanted = `|${command}`;
  const forward = await ctx.readForward(user);
  if (forward?.some((entry) => unquote(entry) === wanted)) return;
  const aliasUser = action.user ?? "nobody";
  if (user.name === aliasUser) {
    for (const ref of [action.alias, action.virtual]) {
      const table = ref ? ctx.tables.get(ref.name) : undefined;
      if (table && await tableNames(table, wanted, ctx.readInclude)) return;
    }
  }
  throw new RefusedRequest(
    `command "${command}" for ${user.name} is in neither its ~/.forward nor the aliases`,
  );
}

async function tableNames(
  table: Table,
  wanted: string,
  readInclude: (path: string) => Promise<string>,
): Promise<boolean> {
  let keys: Iterable<string>;
  try {
    keys = table.keys();
  } catch {
    return false;
  }
  for (const key of keys) {
    const value = table.lookup("alias", key);
    if (value === undefined) continue;
    for (const entry of splitValues(value).map(unquote)) {
      if (entry === wanted) return true;
      if (entry.toLowerCase().startsWith(":include:")) {
        const text = await readInclude(entry.slice(9).trim()).catch(() => "");
        const lines = text.split("\n").filter((l) => !l.trim().startsWith("#"));
        if (lines.flatMap(splitValues).map(unquote).includes(wanted)) return true;
      }
    }
  }
  return false;
}

/**
 * Reads an `:include:` file for the front only when anyone may read it anyway (a regular
 * file, world-readable, checked on the open file): the parent's rights never show the
 * front a secret.
 */
export async function readIncludeForFront(value: unknown): Promise<string> {
  const path = checkPath(value, "the include file");
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (!info.isFile) throw new RefusedRequest(`${path} is not a regular file`);
  if (((info.mode ?? 0) & 0o004) === 0) {
    throw new RefusedRequest(`${path} is not world-readable, so it is not read for the front`);
  }
  return await new Response(file.readable).text();
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}
