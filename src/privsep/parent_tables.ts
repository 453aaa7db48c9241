// Which tables the root parent opens: those its checks read, and of those answered by a
// server only the userbases. Every other table is the front's alone, so the root parent
// keeps no connection to a redis, LDAP or SQL server it would never ask.

import type { Config, TableDecl } from "../config/mod.ts";
import { NETWORK_BACKENDS } from "./front_permissions.ts";

/**
 * The declared tables the parent reads: every action's `userbase` (a user to deliver as
 * must be in one), and its `alias` and `virtual` tables that are files or databases on
 * this machine (a `|command` or `/file` is checked against their entries).
 */
export function tablesTheParentReads(config: Pick<Config, "tables" | "actions">): TableDecl[] {
  const userbases = new Set(config.actions.flatMap((a) => a.userbase ? [a.userbase.name] : []));
  const aliases = new Set(
    config.actions.flatMap((a) => [a.alias?.name, a.virtual?.name].filter((n) => n !== undefined)),
  );
  return config.tables.filter((decl) =>
    userbases.has(decl.name) || (aliases.has(decl.name) && !answeredByServer(decl))
  );
}

function answeredByServer(decl: TableDecl): boolean {
  return decl.source.kind === "backend" && NETWORK_BACKENDS.has(decl.source.backend);
}

/**
 * The alias and virtual tables whose `|command` and `/file` entries the parent cannot
 * check (a server answers them, or sqlite, neither of which lists its keys): under
 * privilege separation such entries are refused, which the start says.
 */
export function unlistedAliasTables(config: Pick<Config, "tables" | "actions">): string[] {
  const names = new Set(
    config.actions.flatMap((a) => [a.alias?.name, a.virtual?.name].filter((n) => n !== undefined)),
  );
  return config.tables.filter((decl) =>
    names.has(decl.name) && (answeredByServer(decl) ||
      (decl.source.kind === "backend" && decl.source.backend === "sqlite"))
  ).map((decl) => decl.name);
}
