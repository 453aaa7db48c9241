// The `redis:` backend: a table-redis(5) configuration (master, slave, one command per
// service with `%s` for the key) run on the master, or on the slave while the master
// cannot be reached, under the shared network table machinery; replies read as
// table_redis.c reads them.

import { UnusableAnswerError } from "./table_error.ts";
import type { Redis } from "ioredis";
import type { GuardLog } from "./network/backend_guard.ts";
import { readNetworkLimits } from "./network/network_config.ts";
import { type NetworkBackend, NetworkTable, type Rows } from "./network/network_table.ts";
import {
  describeRedis,
  parseRedisConfig,
  type RedisAddress,
  redisCommand,
  type RedisConfig,
} from "./redis_config.ts";
import { parseTableText } from "./table_text.ts";
import type { TableService } from "./table.ts";

// Services whose array reply is one row of columns (login, hash / uid, gid, home).
const COLUMN_SERVICES: ReadonlySet<TableService> = new Set(["credentials", "userinfo"]);

/** Opens a `redis:` table; the client connects in the background from now on. */
export async function openRedisTable(
  name: string,
  configPath: string,
  options: { log?: GuardLog | undefined } = {},
): Promise<NetworkTable> {
  const { config, entries } = await parseTableText(name, configPath, parseRedisConfig);
  const limits = readNetworkLimits(entries);
  const backend = new RedisBackend(await loadClient(), config, limits.timeoutMs);
  return new NetworkTable(name, backend, { ...limits, server: backend.server, log: options.log });
}

type RedisClass = typeof Redis;

// The client is loaded with the first redis table: it reads the whole environment as it
// loads (its `debug` dependency lists every variable), which a daemon without redis
// tables need not allow.
async function loadClient(): Promise<RedisClass> {
  try {
    return (await import("ioredis")).Redis;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Error(
        `the redis client reads the whole environment as it loads: run with --allow-env`,
        { cause: error },
      );
    }
    throw error;
  }
}

// The commands of one redis table, on connections kept open and re-opened by the client.
class RedisBackend implements NetworkBackend {
  readonly #config: RedisConfig;
  readonly #master: Redis;
  readonly #slave: Redis | undefined;

  constructor(client: RedisClass, config: RedisConfig, connectTimeoutMs: number) {
    this.#config = config;
    this.#master = connect(client, config.master, config, connectTimeoutMs);
    this.#slave = config.slave
      ? connect(client, config.slave, config, connectTimeoutMs)
      : undefined;
  }

  /** `redis HOST:PORT` of the master, for log lines. */
  get server(): string {
    return describeRedis(this.#config.master);
  }

  /** Whether the file has a command for the service. */
  serves(service: TableService): boolean {
    return this.#config.queries.has(service);
  }

  /** Runs the service's command with the key (NetworkTable lowercased it). */
  async query(service: TableService, key: string, signal: AbortSignal): Promise<Rows> {
    const words = this.#config.queries.get(service);
    if (!words) throw new Error(`no query_${service} in the redis table configuration`);
    const [command, ...args] = redisCommand(words, key);
    // The slave answers whenever the master is not connected (table_redis.c does the same).
    const client = this.#slave && this.#master.status !== "ready" ? this.#slave : this.#master;
    await ready(client, signal);
    const reply = await client.call(command!, ...args);
    return replyRows(service, reply);
  }

  /** A failure of the connection (not an error reply of the server) means unreachable. */
  isUnreachable(error: unknown): boolean {
    return !(error instanceof UnusableAnswerError ||
      (error instanceof Error && error.name === "ReplyError"));
  }

  async close(): Promise<void> {
    this.#master.disconnect();
    this.#slave?.disconnect();
    await Promise.resolve();
  }
}

function connect(
  Client: RedisClass,
  address: RedisAddress,
  config: RedisConfig,
  connectTimeoutMs: number,
): Redis {
  const client = new Client({
    ...("path" in address ? { path: address.path } : { host: address.host, port: address.port }),
    db: config.database,
    ...(config.password === undefined ? {} : { password: config.password }),
    connectTimeout: connectTimeoutMs,
    // A command while the server is away fails at once (a 4xx), instead of waiting.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnection backoff: 50 ms doubling to 1 s, for as long as the table is open; the
    // table's guard spaces the lookups that find the server away.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
  });
  // Going away is reported by the table's guard; the client's own events are not news.
  client.on("error", () => {});
  return client;
}

/**
 * Waits for a connection being opened (the first, or one just re-opened); a client between
 * reconnection attempts fails at once, as the server was found away.
 */
function ready(client: Redis, signal: AbortSignal): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  if (client.status === "reconnecting" || client.status === "end" || client.status === "close") {
    return Promise.reject(new Error(`not connected (${client.status})`));
  }
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      client.off("ready", done);
      client.off("error", done);
      signal.removeEventListener("abort", aborted);
      if (error === undefined) resolve();
      else reject(error);
    };
    const aborted = () => done(signal.reason);
    client.on("ready", done);
    client.on("error", done);
    signal.addEventListener("abort", aborted);
  });
}

/**
 * The rows of a reply, as table_redis.c reads it: an integer matches when it is not 0; a
 * string is one value; an array is a list of values (alias) or the columns of one row
 * (credentials, userinfo); nil, or an array of nils, is no entry.
 */
export function replyRows(service: TableService, reply: unknown): Rows {
  if (reply === null || reply === undefined) return [];
  if (typeof reply === "number") return reply === 0 ? [] : [[String(reply)]];
  if (typeof reply === "string") return [[reply]];
  if (reply instanceof Uint8Array) return [[new TextDecoder().decode(reply)]];
  if (Array.isArray(reply)) {
    const values = reply.map((v) => v === null ? null : typeof v === "string" ? v : String(v));
    if (values.every((v) => v === null) || values.length === 0) return [];
    if (values.some((v) => v === null)) {
      throw new UnusableAnswerError(
        `the ${service} reply lacks some of its fields: ${JSON.stringify(values)}`,
      );
    }
    const texts = values as string[];
    return COLUMN_SERVICES.has(service) ? [texts] : texts.map((v) => [v]);
  }
  throw new UnusableAnswerError(
    `unexpected reply to the ${service} command: ${JSON.stringify(reply)}`,
  );
}
