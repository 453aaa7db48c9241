// What the daemon's Deno permissions must allow for the configuration it runs, checked
// once at start (Deno.permissions.query), so a missing flag stops the start with the flag
// to add instead of failing every delivery later.

import type { Action, Config } from "../config/mod.ts";
import { findSetpriv, MDA_PROGRAM } from "../delivery/mod.ts";
import type { Table } from "../tables/mod.ts";

/** What {@link missingPermissions} needs to know about the daemon. */
export interface PermissionContext {
  readonly queueDir: string;
  /** The daemon is root: mailboxes of other users are written by per-user children. */
  readonly asUsers: boolean;
  readonly tables: ReadonlyMap<string, Table>;
  /** Commands run elsewhere (a privileged parent runs them for an unprivileged front). */
  readonly commandsElsewhere?: boolean;
}

/** One permission the configuration needs and the daemon lacks. */
export interface MissingPermission {
  /** The flag that grants it, e.g. `--allow-run=/usr/bin/deno`. */
  readonly flag: string;
  readonly why: string;
}

/** The permissions the configuration needs that this process does not have. */
export async function missingPermissions(
  config: Config,
  context: PermissionContext,
): Promise<MissingPermission[]> {
  const missing: MissingPermission[] = [];
  const need = async (descriptor: Deno.PermissionDescriptor, flag: string, why: string) => {
    if ((await Deno.permissions.query(descriptor)).state !== "granted") missing.push({ flag, why });
  };
  await need(
    { name: "write", path: context.queueDir },
    `--allow-write=${context.queueDir}`,
    "the queue is written there",
  );
  const commands = config.actions.filter((a) => a.method.kind === "mda").map((a) => a.name);
  const aliasCommands = config.actions.filter((a) => aliasesRunCommands(a, context.tables));
  if (!context.commandsElsewhere && (commands.length > 0 || aliasCommands.length > 0)) {
    const names = [...commands, ...aliasCommands.map((a) => a.name)];
    await need(
      { name: "run", command: MDA_PROGRAM },
      `--allow-run=${MDA_PROGRAM}`,
      `action ${quoted(names)} runs commands (${MDA_PROGRAM}, then /bin/sh -c)`,
    );
  }
  if (context.asUsers) {
    const own = Deno.uid() ?? 0;
    const asOthers = config.actions.filter((a) =>
      (a.method.kind === "maildir" || a.method.kind === "mbox") &&
      deliversAsOthers(a, context.tables, own)
    );
    if (asOthers.length > 0) {
      await need(
        { name: "run", command: Deno.execPath() },
        `--allow-run=${Deno.execPath()}`,
        `action ${quoted(asOthers.map((a) => a.name))} writes mailboxes as their users, ` +
          "through a child started as each user",
      );
    }
    // A spool writable by its group (Debian's) is entered with that group, by setpriv.
    const mboxes = asOthers.filter((a) => a.method.kind === "mbox").map((a) => a.name);
    const setpriv = findSetpriv();
    if (mboxes.length > 0 && setpriv !== undefined) {
      await need(
        { name: "run", command: setpriv },
        `--allow-run=${setpriv}`,
        `action ${quoted(mboxes)} writes mbox as its users, ` +
          "with the mail spool's group where only that group may write the spool",
      );
    }
  }
  return missing;
}

/** The message for a start that lacks permissions: every flag to add, and why. */
export function describeMissing(missing: readonly MissingPermission[]): string {
  return "the daemon lacks permissions its configuration needs (add them to deno run, " +
    "or use -A):\n" + missing.map((m) => `  ${m.flag}: ${m.why}`).join("\n");
}

// Whether an action may write as another account than the daemon's: `user NAME`, the
// system's accounts, or a userbase entry with another uid.
function deliversAsOthers(action: Action, tables: ReadonlyMap<string, Table>, own: number) {
  if (action.user !== undefined) return true;
  const userbase = action.userbase ? tables.get(action.userbase.name) : undefined;
  if (!userbase) return true;
  try {
    for (const key of userbase.keys()) {
      const uid = Number(userbase.lookup("userinfo", key)?.split(":")[0]);
      if (uid !== own) return true;
    }
    return false;
  } catch {
    // A backend that cannot list its entries: any uid is possible.
    return true;
  }
}

// Whether the action's aliases table holds `|command` entries.
function aliasesRunCommands(action: Action, tables: ReadonlyMap<string, Table>): boolean {
  const aliases = action.alias ? tables.get(action.alias.name) : undefined;
  if (!aliases) return false;
  try {
    for (const key of aliases.keys()) {
      if (/(^|,)\s*"?\|/.test(aliases.lookup("alias", key) ?? "")) return true;
    }
  } catch {
    // Entries that cannot be listed are checked when they are used.
  }
  return false;
}

function quoted(names: readonly string[]): string {
  return [...new Set(names)].map((n) => `"${n}"`).join(", ");
}
