// The `mysql:` backend (MySQL and MariaDB): a table-mysql(5) configuration (host, username,
// password, database; one query per service with `?` for the key) answered through a
// bounded `npm:mysql2` pool, under the shared network table machinery.

import mysql from "mysql2/promise";
import type { GuardLog } from "./network/backend_guard.ts";
import { type NetworkBackend, NetworkTable, type Rows } from "./network/network_table.ts";
import type { SqlService } from "./network/network_config.ts";
import { hasQuery, parseSqlConfig, type SqlConfig, warnUnusedKeys } from "./sql_config.ts";
import { parseTableText } from "./table_text.ts";
import type { TableService } from "./table.ts";
import { TableContentError } from "./table_error.ts";

// table-mysql(5)'s connection keys, plus `port` and `socket` (libmysqlclient's defaults
// otherwise: port 3306; `host localhost` means the socket there).
const CONNECTION_KEYS = ["host", "username", "password", "database", "port", "socket"];

// Failures that mean the server cannot be reached or went away, not a bad query.
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOENT",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_CONNECTION_KILLED",
  "CR_SERVER_GONE_ERROR",
  "CR_SERVER_LOST",
]);

/** Opens a `mysql:` table; nothing is connected until the first lookup. */
export async function openMysqlTable(
  name: string,
  configPath: string,
  options: { log?: GuardLog | undefined } = {},
): Promise<NetworkTable> {
  const config = await parseTableText(
    name,
    configPath,
    (text) => parseSqlConfig(text, CONNECTION_KEYS),
  );
  const value = (key: string) => config.entries.get(key)?.value;
  let host = value("host") ?? "localhost";
  let port = 3306;
  // `host db.example.org:3307` is accepted too.
  const hostPort = /^([^:\[\]]+|\[[^\]]+\]):(\d+)$/.exec(host);
  if (hostPort) [host, port] = [hostPort[1]!.replace(/^\[|\]$/g, ""), Number(hostPort[2])];
  const portEntry = config.entries.get("port");
  if (portEntry) {
    port = Number(portEntry.value);
    if (!/^\d+$/.test(portEntry.value) || port < 1 || port > 65535) {
      throw new TableContentError(`port: "${portEntry.value}" is not a port`, portEntry.line);
    }
  }
  warnUnusedKeys(config, name, options.log);
  const socket = value("socket");
  const backend = new MysqlBackend(config, {
    ...(socket === undefined ? { host, port } : { socketPath: socket }),
    ...optional("user", value("username")),
    ...optional("password", value("password")),
    ...optional("database", value("database")),
  });
  return new NetworkTable(name, backend, {
    server: `mysql ${socket ?? `${host}:${port}`}`,
    ...config.limits,
    log: options.log,
  });
}

const DECODER = new TextDecoder();

function columnText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return value instanceof Uint8Array ? DECODER.decode(value) : String(value);
}

function optional<K extends string>(key: K, value: string | undefined) {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

class MysqlBackend implements NetworkBackend {
  readonly #config: SqlConfig;
  readonly #pool: mysql.Pool;

  constructor(config: SqlConfig, connection: mysql.PoolOptions) {
    this.#config = config;
    this.#pool = mysql.createPool({
      ...connection,
      connectionLimit: config.limits.poolSize,
      connectTimeout: config.limits.timeoutMs,
      waitForConnections: true,
      // Column values as text, as table_mysql.c binds its results.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      maxIdle: config.limits.poolSize,
      idleTimeout: 60_000,
    });
  }

  serves(service: TableService): boolean {
    return hasQuery(this.#config, service);
  }

  async query(service: TableService, key: string, signal: AbortSignal): Promise<Rows> {
    const sql = this.#config.queries[service as SqlService]!;
    const connection = await this.#pool.getConnection();
    // A query past its deadline takes its connection with it: the pool opens another.
    let destroyed = false;
    const destroy = () => {
      destroyed = true;
      connection.destroy();
    };
    signal.addEventListener("abort", destroy, { once: true });
    try {
      const [rows] = await connection.execute<mysql.RowDataPacket[]>({
        sql,
        values: [key],
        rowsAsArray: true,
      });
      return (rows as unknown as unknown[][]).map((row) => row.map(columnText));
    } finally {
      signal.removeEventListener("abort", destroy);
      if (!destroyed) connection.release();
    }
  }

  isUnreachable(error: unknown): boolean {
    const e = error as { code?: unknown; fatal?: unknown };
    return UNREACHABLE_CODES.has(String(e?.code ?? "")) || e?.fatal === true;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
