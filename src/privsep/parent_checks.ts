// The parent's checks on what the front asks: the front reads the network, so every
// request is treated as possibly hostile. A user must be a real, non-root account the
// configuration could resolve; paths must be plain absolute paths; commands come from the
// configuration, an aliases table or the user's own ~/.forward, never from an envelope.

import type { Action, Config } from "../config/mod.ts";
import { checkPath, checkString, type DeliveryUser, RefusedRequest } from "../delivery/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { splitValues, type SystemUser, type Table, withTableLookups } from "../tables/mod.ts";

/** What the checks look users and tables up in. */
export interface CheckContext {
  readonly config: Config;
  readonly tables: ReadonlyMap<string, Table>;
  readonly lookupUser: (name: string) => Promise<SystemUser | undefined>;
}

// The shape checks a mailbox writer makes as well (the front may write to it directly).
export { checkMailboxRequest, checkPath, checkString, RefusedRequest } from "../delivery/mod.ts";

const NAME_REGEXP = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$/;

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
  if (uid === 0 || gid === 0) {
    throw new RefusedRequest(`user "${name}": will not deliver as root (alias root to a user)`);
  }
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

/**
 * The socket a writer started for the front connects to, the token it sends and the hello
 * it waits for: a socket of the front's own (checked without following a link), named as
 * the front names them, directly in the directory made for them; token and hello 32 hex
 * digits each. The front owns that directory and could put a link to another socket in
 * the socket's place once it is checked: the writer sends nothing until it has heard the
 * hello, which no other socket's server knows.
 */
export async function checkWriterSocket(
  pathValue: unknown,
  tokenValue: unknown,
  helloValue: unknown,
  sockets: { readonly dir: string; readonly uid: number },
): Promise<{ path: string; token: string; hello: string }> {
  const path = checkPath(pathValue, "the writer's socket");
  const name = path.startsWith(`${sockets.dir}/`) ? path.slice(sockets.dir.length + 1) : "";
  if (!/^[0-9a-f]{32}\.sock$/.test(name)) {
    throw new RefusedRequest(`the writer's socket "${path}" is not one of the front's`);
  }
  const token = checkString(tokenValue, "the token", 64);
  if (!/^[0-9a-f]{32}$/.test(token)) throw new RefusedRequest("the token is not 32 hex digits");
  const hello = checkString(helloValue, "the hello", 64);
  if (!/^[0-9a-f]{32}$/.test(hello)) throw new RefusedRequest("the hello is not 32 hex digits");
  const info = await Deno.lstat(path).catch(() => undefined);
  if (!info?.isSocket || info.uid !== sockets.uid) {
    throw new RefusedRequest(`the writer's socket "${path}" is not a socket of the front's`);
  }
  return { path, token, hello };
}

/** The table a request names, which the configuration must declare (a name, not a path). */
export function checkTableName(value: unknown, ctx: CheckContext): string {
  const name = checkString(value, "the table name", 256);
  if (!ctx.config.tables.some((t) => t.name === name)) {
    throw new RefusedRequest(`no table named "${name}" in the configuration`);
  }
  return name;
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
  ctx: TargetCheckContext,
): Promise<void> {
  if (await namedTarget(`|${command}`, [action], user, ctx)) return;
  throw new RefusedRequest(
    `command "${command}" for ${user.name} is in neither its ~/.forward nor the aliases`,
  );
}

/** What checking a `|command` or `/file` target reads: the user's ~/.forward, includes. */
export type TargetCheckContext = CheckContext & {
  readonly readForward: (user: DeliveryUser) => Promise<string[] | undefined>;
  readonly readInclude: (path: string) => Promise<string>;
};

/**
 * A `/file` the front asks to append to as `user` (an mbox that is not the user's spool
 * mailbox): only one the user's own ~/.forward names, or, for an action's aliases user,
 * its `alias`/`virtual` table or an `:include:` file. A front that is taken over cannot
 * make a user's writer append to its ~/.profile.
 */
export async function checkNamedFile(
  path: string,
  user: DeliveryUser,
  ctx: TargetCheckContext,
): Promise<void> {
  if (await namedTarget(path, ctx.config.actions, user, ctx)) return;
  throw new RefusedRequest(
    `file "${path}" for ${user.name} is in neither its ~/.forward nor the aliases`,
  );
}

async function namedTarget(
  wanted: string,
  actions: readonly Action[],
  user: DeliveryUser,
  ctx: TargetCheckContext,
): Promise<boolean> {
  const forward = await ctx.readForward(user);
  if (forward?.some((entry) => unquote(entry) === wanted)) return true;
  for (const action of actions) {
    if (user.name !== (action.user ?? "nobody")) continue;
    for (const ref of [action.alias, action.virtual]) {
      const table = ref ? ctx.tables.get(ref.name) : undefined;
      if (table && await tableNames(table, wanted, ctx.readInclude)) return true;
    }
  }
  return false;
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
 * file, world-readable, checked on the open file, in directories anyone may enter): the
 * parent's rights never show the front a secret, not even one in a private home.
 */
export async function readIncludeForFront(value: unknown): Promise<string> {
  const path = checkPath(value, "the include file");
  for (
    let dir = path.slice(0, path.lastIndexOf("/"));
    dir !== "";
    dir = dir.slice(0, dir.lastIndexOf("/"))
  ) {
    if (((await Deno.stat(dir)).mode ?? 0) & 0o001) continue;
    throw new RefusedRequest(
      `${path} is in ${dir}, which not everyone may enter, so it is not read for the front`,
    );
  }
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
