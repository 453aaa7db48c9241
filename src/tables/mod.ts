/**
 * Tables (table(5)): the one interface every backend implements (inline, file, db, sqlite,
 * yaml), the table(5) matching rules, regex tables, the system's users, the registry that
 * opens a configuration's tables, and the set the daemon reloads on SIGHUP.
 *
 * @module
 */
export type { Table, TableService } from "./table.ts";
export { serviceRefusal } from "./services.ts";
export { StaticTable } from "./static.ts";
export { parseTableEntries, parseTableFile, readTableEntries } from "./file.ts";
export type { TableEntries } from "./file.ts";
export { createUserExists, createUserLookup, parsePasswd } from "./getpwnam.ts";
export type { SystemUser } from "./getpwnam.ts";
export { BACKENDS, openTable, openTables, resolvePath } from "./registry.ts";
export type { OpenTableOptions, OpenTablesOptions } from "./registry.ts";
export { DbTable } from "./db.ts";
export { DuplicateKeyError, writeDbTable } from "./db_format.ts";
export type { DbSourceInfo, DbWriteResult, DuplicateKey } from "./db_format.ts";
export { parseAliases, splitValues } from "./aliases_text.ts";
export type { AliasesError, ParsedAliases } from "./aliases_text.ts";
export { TableReloadError } from "./reloadable.ts";
export { TableSet } from "./table_set.ts";
export { parseSqliteConfig } from "./sqlite_config.ts";
export { networkTablePaths } from "./network_table_paths.ts";
export type { NetworkTablePaths } from "./network_table_paths.ts";
export { compileRegexTable, testRegexKeys } from "./regex_table.ts";
export { hostnameMatch, matchWildcardAddresses, wildcardAddressOf } from "./key_match.ts";
export type { WildcardAddress } from "./key_match.ts";
export { TableLoadError } from "./table_error.ts";
export { withTableLookups } from "./network/lookup_scope.ts";
export { NetworkTable } from "./network/network_table.ts";
export type { NetworkBackend, NetworkTableOptions, Rows } from "./network/network_table.ts";
export { BackendUnavailableError } from "./network/backend_guard.ts";
export type { GuardLog } from "./network/backend_guard.ts";
