// The configuration file of `sqlite:` tables, in OpenSMTPD's table-sqlite format:
// `dbpath FILE`, one `query_SERVICE SELECT … ?` line per service served, `#` comments.

import type { TableService } from "./table.ts";
import { TableContentError } from "./table_error.ts";

/** The services a table-sqlite configuration can name a query for: all but two. */
export type SqliteService = Exclude<TableService, "relayhost" | "string">;

/** The query key of each service, as the configuration spells it. */
export const SQLITE_QUERY_KEYS: Readonly<Record<SqliteService, string>> = {
  alias: "query_alias",
  domain: "query_domain",
  credentials: "query_credentials",
  netaddr: "query_netaddr",
  userinfo: "query_userinfo",
  source: "query_source",
  mailaddr: "query_mailaddr",
  mailaddrmap: "query_mailaddrmap",
  addrname: "query_addrname",
};

// Keys table-sqlite accepts that this backend reads but does not use.
const IGNORED_KEYS: ReadonlySet<string> = new Set([
  "fetch_source",
  "fetch_source_expire",
  "fetch_source_refresh",
]);

/** A parsed table-sqlite configuration. */
export interface SqliteConfig {
  /** The database file, resolved against the configuration file's directory. */
  readonly dbpath: string;
  readonly queries: Readonly<Partial<Record<SqliteService, string>>>;
  /** The line each key (`dbpath`, `query_domain`…) was given on, for messages. */
  readonly lines: ReadonlyMap<string, number>;
}

/** True when the service has a table-sqlite query key. */
export function isSqliteService(service: TableService): service is SqliteService {
  return Object.hasOwn(SQLITE_QUERY_KEYS, service);
}

/** Parses table-sqlite configuration text; a {@link TableContentError} names the line. */
export function parseSqliteConfig(text: string, path: string): SqliteConfig {
  const byKey = new Map<string, SqliteService>(
    Object.entries(SQLITE_QUERY_KEYS).map(([service, key]) => [key, service as SqliteService]),
  );
  let dbpath: string | undefined;
  const queries: Partial<Record<SqliteService, string>> = {};
  const keyLines = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(\S+)\s*(.*)$/s.exec(line)!;
    const key = match[1]!;
    const value = match[2]!.trim();
    const service = byKey.get(key);
    if (value === "" && (key === "dbpath" || service)) {
      throw new TableContentError(`"${key}" needs a value`, i + 1);
    }
    if (keyLines.has(key)) {
      throw new TableContentError(
        `"${key}" is given again (first on line ${keyLines.get(key)})`,
        i + 1,
      );
    }
    if (key === "dbpath") dbpath = value;
    else if (service) queries[service] = value;
    else if (!IGNORED_KEYS.has(key)) throw new TableContentError(`unknown key "${key}"`, i + 1);
    keyLines.set(key, i + 1);
  }
  if (dbpath === undefined) throw new TableContentError(`no "dbpath" is given`);
  return { dbpath: resolveBeside(path, dbpath), queries, lines: keyLines };
}

function resolveBeside(configPath: string, path: string): string {
  if (path.startsWith("/")) return path;
  const slash = configPath.lastIndexOf("/");
  return slash === -1 ? path : `${configPath.slice(0, slash + 1)}${path}`;
}
