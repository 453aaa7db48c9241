// Public face of the tables box.
export type { Table, TableService } from "./table.ts";
export { MAP_SERVICES, servesService, serviceRefusal } from "./services.ts";
export { StaticTable } from "./static.ts";
export { loadTableFile, parseTableEntries, parseTableFile } from "./file.ts";
export type { StaticTableOptions } from "./static.ts";
export type { TableEntries } from "./file.ts";
export { createUserExists, createUserLookup, parsePasswd } from "./getpwnam.ts";
export type { SystemUser } from "./getpwnam.ts";
// Network addresses live in src/net; re-exported for the tables' callers.
export * from "../net/mod.ts";
export {
  BACKENDS,
  openTable,
  openTables,
  regexTableNames,
  resolvePath,
  tableSource,
} from "./registry.ts";
export type { OpenTableOptions, OpenTablesOptions } from "./registry.ts";
export { DbTable } from "./db.ts";
export { DB_FORMAT_VERSION, writeDbTable } from "./db_format.ts";
export type { DbWriteResult } from "./db_format.ts";
export { parseAliases, splitValues } from "./aliases_text.ts";
export type { AliasesError, ParsedAliases } from "./aliases_text.ts";
export { loadYamlTable, parseYamlTable } from "./yaml.ts";
export { SqliteTable } from "./sqlite.ts";
export { parseSqliteConfig, SQLITE_QUERY_KEYS } from "./sqlite_config.ts";
export type { SqliteConfig, SqliteService } from "./sqlite_config.ts";
export { ReloadableTable, TableReloadError } from "./reloadable.ts";
export type { ReloadableTableOptions } from "./reloadable.ts";
export { TableSet } from "./table_set.ts";
export { compileRegexKey, compileRegexTable } from "./regex_table.ts";
export { TableContentError, TableLoadError } from "./table_error.ts";
export type { TableErrorPlace } from "./table_error.ts";
