// The configuration file of a redis table, as table-redis(5) of OpenSMTPD-extras defines
// it: master and slave servers, database, password, and one command per service with `%s`
// standing for the key.

import { TableContentError } from "./table_error.ts";
import {
  type ConfigEntry,
  LIMIT_KEYS,
  parseConfigEntries,
  refuseUnknownKeys,
} from "./network/network_config.ts";
import type { TableService } from "./table.ts";

/** Where a Redis server listens: TCP host and port, or a unix socket (`unix:/path`). */
export type RedisAddress =
  | { readonly host: string; readonly port: number }
  | { readonly path: string };

/** A redis table's configuration. */
export interface RedisConfig {
  readonly master: RedisAddress;
  /** Asked when the master cannot be reached. */
  readonly slave?: RedisAddress;
  readonly database: number;
  readonly password?: string;
  /** The command of each service, split into words; `%s` in a word is the key. */
  readonly queries: ReadonlyMap<TableService, readonly string[]>;
}

/** The services table-redis has a `query_*` key for, with its default command. */
export const REDIS_QUERY_DEFAULTS: Readonly<Partial<Record<TableService, string>>> = {
  alias: "GET alias:%s",
  domain: "GET domain:%s",
  credentials: "GET credentials:%s",
  netaddr: "GET netaddr:%s",
  userinfo: "GET userinfo:%s",
  source: "GET source:%s",
  mailaddr: "GET mailaddr:%s",
  addrname: "GET addrname:%s",
};

const SERVICES = Object.keys(REDIS_QUERY_DEFAULTS) as TableService[];

// `query_mailaddrmap` is this project's addition, for `senders <table>`: table-redis has
// no default for it, so it is served only when the file gives it.
const EXTENSIONS: readonly TableService[] = ["mailaddrmap"];

/** Keys a redis table file may hold; the limit keys are shared by every network table. */
export const REDIS_KEYS: ReadonlySet<string> = new Set([
  "master",
  "master_port",
  "slave",
  "slave_port",
  "database",
  "password",
  ...[...SERVICES, ...EXTENSIONS].map((s) => `query_${s}`),
  ...LIMIT_KEYS,
]);

/**
 * Reads a redis table file. A file without any `query_*` key gets table-redis' default
 * command for every service (`GET alias:%s`…); a file with some serves only those.
 */
export function parseRedisConfig(
  text: string,
): { config: RedisConfig; entries: Map<string, ConfigEntry> } {
  const entries = parseConfigEntries(text);
  refuseUnknownKeys(entries, REDIS_KEYS);
  const master = address(
    entries.get("master")?.value ?? "127.0.0.1",
    readInteger(entries, "master_port", 1, 65535, 6379),
  );
  const slaveHost = entries.get("slave")?.value;
  const slavePort = readInteger(entries, "slave_port", 1, 65535, 6380);
  if (!slaveHost && entries.has("slave_port")) {
    throw new TableContentError(
      `slave_port is given without slave`,
      entries.get("slave_port")!.line,
    );
  }
  const given = [...SERVICES, ...EXTENSIONS].filter((s) => entries.has(`query_${s}`));
  const queries = new Map<TableService, readonly string[]>();
  for (const service of given.length > 0 ? given : SERVICES) {
    const entry = entries.get(`query_${service}`);
    const words = (entry?.value ?? REDIS_QUERY_DEFAULTS[service]!).split(/\s+/);
    if (!words.some((w) => w.includes("%s"))) {
      throw new TableContentError(
        `query_${service}: the command has no %s for the key`,
        entry?.line,
      );
    }
    queries.set(service, words);
  }
  const password = entries.get("password")?.value;
  const config: RedisConfig = {
    master,
    ...(slaveHost ? { slave: address(slaveHost, slavePort) } : {}),
    database: readInteger(entries, "database", 0, 256, 0),
    ...(password === undefined ? {} : { password }),
    queries,
  };
  return { config, entries };
}

function address(host: string, port: number): RedisAddress {
  return host.startsWith("unix:") ? { path: host.slice(5) } : { host, port };
}

/** The command's words with every `%s` replaced by the key (each word one argument). */
export function redisCommand(words: readonly string[], key: string): string[] {
  // A function, so that "$'" and the like in the key are inserted as they are.
  return words.map((w) => w.replaceAll("%s", () => key));
}

/** `redis 127.0.0.1:6379` or `redis unix:/path`, for log lines. */
export function describeRedis(address: RedisAddress): string {
  return "path" in address ? `redis unix:${address.path}` : `redis ${address.host}:${address.port}`;
}

function readInteger(
  entries: ReadonlyMap<string, ConfigEntry>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const entry = entries.get(key);
  if (!entry) return fallback;
  const n = Number(entry.value);
  if (!/^\d+$/.test(entry.value) || n < min || n > max) {
    throw new TableContentError(
      `${key}: "${entry.value}" is not a number from ${min} to ${max}`,
      entry.line,
    );
  }
  return n;
}
