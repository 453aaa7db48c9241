// What table-postgres(5) and table-mysql(5) configurations share: one `query_SERVICE`
// line per service served, the `fetch_source*` keys, and this project's limits.

import type { GuardLog } from "./network/backend_guard.ts";
import {
  type ConfigEntry,
  LIMIT_KEYS,
  type NetworkLimits,
  parseConfigEntries,
  readNetworkLimits,
  refuseUnknownKeys,
  SQL_QUERY_KEYS,
  type SqlService,
} from "./network/network_config.ts";
import type { TableService } from "./table.ts";

// table_postgres.c and table_mysql.c read these to fill a `source` table periodically;
// here query_source answers each lookup instead, and the daemon says so.
const FETCH_KEYS = ["fetch_source", "fetch_source_expire", "fetch_source_refresh"];

/** A parsed SQL table configuration, before its connection keys are read. */
export interface SqlConfig {
  readonly entries: ReadonlyMap<string, ConfigEntry>;
  readonly queries: Readonly<Partial<Record<SqlService, string>>>;
  readonly limits: NetworkLimits;
}

/** Parses the text; connection keys are the backend's (`conninfo`, or `host`…). */
export function parseSqlConfig(text: string, connectionKeys: readonly string[]): SqlConfig {
  const entries = parseConfigEntries(text);
  refuseUnknownKeys(
    entries,
    new Set([...connectionKeys, ...Object.values(SQL_QUERY_KEYS), ...FETCH_KEYS, ...LIMIT_KEYS]),
  );
  const queries: Partial<Record<SqlService, string>> = {};
  for (const [service, key] of Object.entries(SQL_QUERY_KEYS) as [SqlService, string][]) {
    const entry = entries.get(key);
    if (entry) queries[service] = entry.value.replace(/;\s*$/, "");
  }
  return { entries, queries, limits: readNetworkLimits(entries) };
}

/** Says, once at open, which keys of the file this backend does not use. */
export function warnUnusedKeys(config: SqlConfig, table: string, log?: GuardLog): void {
  const unused = FETCH_KEYS.filter((key) => config.entries.has(key));
  if (unused.length === 0) return;
  log?.warn(
    `table: "${table}": ${unused.join(", ")} not used: query_source answers each lookup`,
  );
}

/** True when the configuration has a query for the service. */
export function hasQuery(config: SqlConfig, service: TableService): boolean {
  return Object.hasOwn(config.queries, service);
}
