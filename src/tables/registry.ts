// Opens every table a configuration declares, through the backend its source names.
// Backends are a plain map from name to opener, with no import side effects.

import { resolve } from "node:path";
import type { Config, TableDecl } from "../config/mod.ts";
import { DbTable } from "./db.ts";
import { loadTableFile } from "./file.ts";
import { SqliteTable } from "./sqlite.ts";
import { StaticTable } from "./static.ts";
import type { Table } from "./table.ts";
import { loadYamlTable } from "./yaml.ts";

type Opener = (decl: TableDecl, path: string) => Promise<Table>;

/** Backends this build can open, by the prefix used in `table NAME prefix:CONFIG`. */
export const BACKENDS: Readonly<Record<string, Opener>> = {
  file: (decl, path) => loadTableFile(decl.name, path),
  db: (decl, path) => Promise.resolve().then(() => DbTable.open(decl.name, path)),
  sqlite: (decl, path) => SqliteTable.open(decl.name, path),
  yaml: (decl, path) => loadYamlTable(decl.name, path),
};

/** Options of {@link openTables}. */
export interface OpenTablesOptions {
  /** Relative table paths are resolved against this directory (the config file's). */
  readonly baseDir: string;
}

/** Opens all tables of a configuration, by name; the error names the table and path. */
export async function openTables(
  config: Pick<Config, "tables">,
  options: OpenTablesOptions,
): Promise<Map<string, Table>> {
  const tables = new Map<string, Table>();
  try {
    for (const decl of config.tables) {
      tables.set(decl.name, await openTable(decl, options.baseDir));
    }
  } catch (error) {
    for (const table of tables.values()) table.close?.();
    throw error;
  }
  return tables;
}

/** Opens one declared table. */
export function openTable(decl: TableDecl, baseDir: string): Promise<Table> {
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
          new Error(
            `Cannot open table "${decl.name}": backend "${source.backend}" is not supported by this build`,
          ),
        );
      }
      return opener(decl, resolvePath(baseDir, source.config));
    }
  }
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
