// The `sqlite:` backend: an SQLite database queried with the statements of a table-sqlite
// configuration, prepared once. A service without a query is refused when used.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { errorMessage } from "../mail/mod.ts";
import { parseTableText } from "./table_text.ts";
import { TableLoadError } from "./table_error.ts";
import { matchDomainKey, matchMailaddrKey } from "./key_match.ts";
import { matchNetaddrByText } from "./netaddr_text.ts";
import {
  isSqliteService,
  parseSqliteConfig,
  SQLITE_QUERY_KEYS,
  type SqliteService,
} from "./sqlite_config.ts";
import type { Table, TableService } from "./table.ts";

const MAP_QUERIES: readonly SqliteService[] = [
  "alias",
  "credentials",
  "userinfo",
  "mailaddrmap",
  "addrname",
];

// Services whose value is the columns of one row joined by `:` (table-sqlite's formats).
const COLUMN_JOINED: ReadonlySet<SqliteService> = new Set(["credentials", "userinfo"]);
// Services whose value is the first column of every row, as a `a, b` list.
const ROW_JOINED: ReadonlySet<SqliteService> = new Set(["alias", "mailaddrmap"]);

/** A table answered by SQL queries over an SQLite file. */
export class SqliteTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  /** The configuration file the table was opened from. */
  readonly configPath: string;
  #db: DatabaseSync;
  #statements: Partial<Record<SqliteService, StatementSync>>;

  private constructor(
    name: string,
    configPath: string,
    db: DatabaseSync,
    statements: Partial<Record<SqliteService, StatementSync>>,
  ) {
    this.name = name;
    this.configPath = configPath;
    this.#db = db;
    this.#statements = statements;
    this.shape = MAP_QUERIES.some((s) => statements[s]) ? "map" : "list";
  }

  /**
   * Reads the configuration, opens the database read-only and prepares every query. The
   * error names the table and the file at fault.
   */
  static async open(name: string, configPath: string): Promise<SqliteTable> {
    const place = { table: name, file: configPath };
    const config = await parseTableText(
      name,
      configPath,
      (text) => parseSqliteConfig(text, configPath),
    );
    const at = (key: string) => ({ ...place, line: config.lines.get(key) });
    // SQLite's message may end with the path already named.
    const dbFailure = (what: string, error: unknown) =>
      new TableLoadError(
        at("dbpath"),
        `cannot ${what} "${config.dbpath}": ${
          errorMessage(error).replace(`: ${config.dbpath}`, "")
        }`,
        { cause: error },
      );
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(config.dbpath, { readOnly: true });
    } catch (error) {
      throw dbFailure("open", error);
    }
    try {
      db.exec("PRAGMA busy_timeout = 2000");
      // Reading the schema proves the file is a database before any query is blamed.
      db.prepare("SELECT 1 FROM sqlite_schema LIMIT 1").all();
    } catch (error) {
      db.close();
      throw dbFailure("read", error);
    }
    const statements: Partial<Record<SqliteService, StatementSync>> = {};
    for (const [service, sql] of Object.entries(config.queries) as [SqliteService, string][]) {
      const key = SQLITE_QUERY_KEYS[service];
      let reason: string | undefined;
      try {
        const statement = db.prepare(sql);
        if (statement.columns().length === 0) reason = `${key}: the query returns no columns`;
        else statements[service] = statement;
      } catch (error) {
        reason = `${key}: ${errorMessage(error)}`;
      }
      if (reason !== undefined) {
        db.close();
        throw new TableLoadError(at(key), reason);
      }
    }
    return new SqliteTable(name, configPath, db, statements);
  }

  serves(service: TableService): boolean {
    return isSqliteService(service) && this.#statements[service] !== undefined;
  }

  // Keys are asked lowercased, as OpenSMTPD's table_lookup() asks every backend.
  match(service: TableService, key: string): boolean {
    const statement = this.#statement(service);
    const has = (k: string) => statement.get(k.toLowerCase()) !== undefined;
    switch (service) {
      case "domain":
        return matchDomainKey(key, has);
      case "mailaddr":
        return matchMailaddrKey(key, has);
      case "netaddr":
      case "source":
        return matchNetaddrByText(key, has);
      default:
        return has(key);
    }
  }

  lookup(service: TableService, key: string): string | undefined {
    const statement = this.#statement(service);
    const rows = statement.all(key.toLowerCase());
    const first = rows[0];
    if (first === undefined) return undefined;
    if (COLUMN_JOINED.has(service as SqliteService)) return Object.values(first).join(":");
    if (ROW_JOINED.has(service as SqliteService)) {
      return rows.map((row) => String(Object.values(row)[0])).join(", ");
    }
    return String(Object.values(first)[0]);
  }

  keys(): Iterable<string> {
    throw new Error(`Table "${this.name}" (sqlite) cannot list its keys`);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #statement(service: TableService): StatementSync {
    const statement = isSqliteService(service) ? this.#statements[service] : undefined;
    if (statement) return statement;
    const key = isSqliteService(service) ? SQLITE_QUERY_KEYS[service] : undefined;
    const why = key ? `"${this.configPath}" has no ${key}` : "table-sqlite has no such query";
    throw new Error(`Table "${this.name}" cannot be used for ${service} lookups: ${why}`);
  }
}
