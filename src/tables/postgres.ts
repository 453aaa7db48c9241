// The `postgres:` backend: a table-postgres(5) configuration (conninfo, one query per
// service with `$1` for the key) answered by PostgreSQL through a bounded pool of
// `npm:postgres` connections, under the shared network table machinery.

import postgres from "postgres";
import { errorMessage } from "../mail/mod.ts";
import type { GuardLog } from "./network/backend_guard.ts";
import { type NetworkBackend, NetworkTable, type Rows } from "./network/network_table.ts";
import { parseConninfo, type PostgresConnection } from "./postgres_conninfo.ts";
import { hasQuery, parseSqlConfig, type SqlConfig, warnUnusedKeys } from "./sql_config.ts";
import type { SqlService } from "./network/network_config.ts";
import { parseTableText } from "./table_text.ts";
import type { TableService } from "./table.ts";
import { TableContentError } from "./table_error.ts";

// Failures that mean the server cannot be reached or went away, not a bad query:
// the client's own codes, system errors, and SQLSTATE classes 08 (connection) and 57P
// (shutting down, cannot connect now).
const CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Opens a `postgres:` table; nothing is connected until the first lookup. */
export async function openPostgresTable(
  name: string,
  configPath: string,
  options: { log?: GuardLog | undefined } = {},
): Promise<NetworkTable> {
  const config = await parseTableText(
    name,
    configPath,
    (text) => parseSqlConfig(text, ["conninfo"]),
  );
  const conninfo = config.entries.get("conninfo");
  if (!conninfo) throw new TableContentError(`no "conninfo" is given`);
  const connection = parseConninfo(conninfo.value, conninfo.line);
  warnUnusedKeys(config, name, options.log);
  const backend = new PostgresBackend(config, connection);
  return new NetworkTable(name, backend, {
    server: `postgres ${connection.host}:${connection.port}`,
    ...config.limits,
    log: options.log,
  });
}

class PostgresBackend implements NetworkBackend {
  readonly #config: SqlConfig;
  readonly #connection: PostgresConnection;
  #sql: postgres.Sql;

  constructor(config: SqlConfig, c: PostgresConnection) {
    this.#config = config;
    this.#connection = c;
    this.#sql = this.#client();
  }

  // A pool of connections, none opened until a query needs one.
  #client(): postgres.Sql {
    const config = this.#config;
    const c = this.#connection;
    return postgres({
      host: c.host,
      port: c.port,
      ...(c.user === undefined ? {} : { user: c.user }),
      ...(c.password === undefined ? {} : { password: c.password }),
      ...(c.database === undefined ? {} : { database: c.database }),
      ssl: c.ssl,
      max: config.limits.poolSize,
      // A connection attempt gives up within the lookup's own deadline.
      connect_timeout: c.connectTimeoutS ?? Math.max(1, Math.ceil(config.limits.timeoutMs / 1000)),
      idle_timeout: 60,
      onnotice: () => {},
      // Column values stay text, as table_postgres.c reads them (PQgetvalue).
      types: {},
      fetch_types: false,
    });
  }

  // After PostgreSQL restarted, a pool whose queries were queued on connections that
  // went away was seen to answer nothing, every probe waiting out its deadline, until
  // the table was made anew (SIGHUP): so a silent probe makes the pool anew.
  reset(): void {
    const old = this.#sql;
    this.#sql = this.#client();
    old.end({ timeout: 0 }).catch(() => {});
  }

  serves(service: TableService): boolean {
    return hasQuery(this.#config, service);
  }

  async query(service: TableService, key: string, signal: AbortSignal): Promise<Rows> {
    const text = this.#config.queries[service as SqlService]!;
    const pending = this.#sql.unsafe(text, [key], { prepare: true }).values();
    const cancel = () => void pending.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      const rows = await pending;
      return rows.map((row) => row.map((v) => (v === null ? "" : String(v))));
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  isUnreachable(error: unknown): boolean {
    const code = String((error as { code?: unknown })?.code ?? "");
    if (CLIENT_CODES.has(code) || code.startsWith("08") || code.startsWith("57P")) return true;
    return /connect|terminat|closed/i.test(errorMessage(error)) && code === "";
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 1 });
  }
}
