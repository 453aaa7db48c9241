// Opens every table a configuration declares, through the backend its source names.
// Backends are a plain map from name to opener, with no import side effects. Those built
// on a client library are imported when a table first names them: a daemon that uses none
// starts without loading (and keeping in memory) any of them.

import { resolve } from "node:path";
import type { Config, TableDecl } from "../config/mod.ts";
import { DbTable } from "./db.ts";
import { loadTableFile } from "./file.ts";
import { SqliteTable } from "./sqlite.ts";
import { StaticTable } from "./static.ts";
import { compileRegexTable } from "./regex_table.ts";
import type { Table } from "./table.ts";
import { type TableErrorPlace, toTableLoadError } from "./table_error.ts";
import type { GuardLog } from "./network/backend_guard.ts";

type Opener = (decl: TableDecl, path: string, options: BackendOptions) => Promise<Table>;

/** What a backend opener is given besides its configuration file. */
export interface BackendOptions {
  /** Where network backends log that their server went away or came back. */
  readonly log?: GuardLog | undefined;
}

/** Backends this build can open, by the prefix used in `table NAME prefix:CONFIG`. */
export const BACKENDS: Readonly<Record<string, Opener>> = {
  file: (decl, path) => loadTableFile(decl.name, path),
  db: (decl, path) => Promise.resolve().then(() => DbTable.open(decl.name, path)),
  sqlite: (decl, path) => SqliteTable.open(decl.name, path),
  yaml: async (decl, path) => (await import("./yaml.ts")).loadYamlTable(decl.name, path),
  postgres: async (decl, path, options) =>
    (await import("./postgres.ts")).openPostgresTable(decl.name, path, options),
  mysql: async (decl, path, options) =>
    (await import("./mysql.ts")).openMysqlTable(decl.name, path, options),
  redis: async (decl, path, options) =>
    (await import("./redis.ts")).openRedisTable(decl.name, path, options),
  ldap: async (decl, path, options) =>
    (await import("./ldap.ts")).openLdapTable(decl.name, path, options),
};

/** Options of {@link openTables}. */
export interface OpenTablesOptions {
  /** Relative table paths are resolved against this directory (the config file's). */
  readonly baseDir: string;
  /** Where network backends log that their server went away or came back. */
  readonly log?: GuardLog | undefined;
}

/** Options of {@link openTable}. */
export interface OpenTableOptions {
  /** The table holds the patterns of a `regex` match: each must compile. */
  readonly regex?: boolean;
  /** Where network backends log that their server went away or came back. */
  readonly log?: GuardLog | undefined;
}

/**
 * Opens all tables of a configuration, by name; tables that `match … regex` criteria use
 * have their patterns checked. Throws a {@link TableLoadError} naming table, file and line.
 */
export async function openTables(
  config: Pick<Config, "tables"> & Partial<Pick<Config, "matches">>,
  options: OpenTablesOptions,
): Promise<Map<string, Table>> {
  const tables = new Map<string, Table>();
  const regex = regexTableNames(config);
  try {
    for (const decl of config.tables) {
      tables.set(
        decl.name,
        await openTable(decl, options.baseDir, { regex: regex.has(decl.name), log: options.log }),
      );
    }
  } catch (error) {
    for (const table of tables.values()) table.close?.();
    throw error;
  }
  return tables;
}

/** The names of the tables that `match` criteria read as regular expressions. */
export function regexTableNames(config: Partial<Pick<Config, "matches">>): Set<string> {
  const names = new Set<string>();
  for (const match of config.matches ?? []) {
    for (const c of match.criteria) if (c.regex && c.table) names.add(c.table.name);
  }
  return names;
}

/**
 * Opens one declared table. Whatever goes wrong rejects with a {@link TableLoadError}
 * naming the table, the file (the configuration's, for inline tables) and the line.
 */
export async function openTable(
  decl: TableDecl,
  baseDir: string,
  options: OpenTableOptions = {},
): Promise<Table> {
  const place = tablePlace(decl, baseDir);
  let table: Table;
  try {
    table = await openBackend(decl, baseDir, { log: options.log });
  } catch (error) {
    throw toTableLoadError(place, error);
  }
  if (options.regex) {
    try {
      compileRegexTable(table);
    } catch (error) {
      table.close?.();
      throw toTableLoadError(place, error);
    }
  }
  return table;
}

function openBackend(decl: TableDecl, baseDir: string, options: BackendOptions): Promise<Table> {
  const source = decl.source;
  switch (source.kind) {
    case "list":
      return Promise.resolve(StaticTable.fromList(decl.name, source.values));
    case "map":
      return Promise.resolve(new StaticTable(decl.name, "map", source.entries));
    case "backend": {
      const opener = Object.hasOwn(BACKENDS, source.backend) ? BACKENDS[source.backend] : undefined;
      if (!opener) {
        return Promise.reject(
          new Error(`backend "${source.backend}" is not supported by this build`),
        );
      }
      return opener(decl, resolvePath(baseDir, source.config), options);
    }
  }
}

// The file errors about a table point at: its own file, or the configuration line that
// declares an inline table or names an unknown backend.
function tablePlace(decl: TableDecl, baseDir: string): TableErrorPlace {
  const source = decl.source;
  if (source.kind === "backend" && Object.hasOwn(BACKENDS, source.backend)) {
    return { table: decl.name, file: resolvePath(baseDir, source.config) };
  }
  return { table: decl.name, file: decl.position.file, line: decl.position.line };
}

/** Where a declared table is loaded from: its resolved path, or `inline`. */
export function tableSource(decl: TableDecl, baseDir: string): string {
  const source = decl.source;
  if (source.kind !== "backend") return "inline";
  return `${source.backend}:${resolvePath(baseDir, source.config)}`;
}

/** Resolves a configuration path against the config file's directory. */
export function resolvePath(baseDir: string, path: string): string {
  return resolve(baseDir, path);
}
