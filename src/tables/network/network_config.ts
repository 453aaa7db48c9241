// What every network table's configuration file shares: OpenSMTPD-extras' `key value`
// lines (`key: value` too, `#` comments, no key twice), and this project's extensions for
// the pool, the query deadline and the optional cache.

import { TableContentError } from "../table_error.ts";
import { SQLITE_QUERY_KEYS } from "../sqlite_config.ts";

/** One `key value` line of a configuration file. */
export interface ConfigEntry {
  readonly value: string;
  /** The 1-based line it was read from. */
  readonly line: number;
}

/** The limits every network table reads from its configuration. */
export interface NetworkLimits {
  /** `pool_size N`: connections (and queries at once) per table; default 4. */
  readonly poolSize: number;
  /** `query_timeout DURATION`: the deadline of one lookup; default 5s. */
  readonly timeoutMs: number;
  /** `cache_ttl DURATION`: keep answers this long; default 0, no cache. */
  readonly cacheTtlMs: number;
}

/** The keys {@link readNetworkLimits} reads. */
export const LIMIT_KEYS: readonly string[] = ["pool_size", "query_timeout", "cache_ttl"];

// The key, and the one blank or `:` that ends it (strsep(3) on " \t:").
const CONFIG_LINE_REGEXP = /^([^\s:]+)[\s:]?(.*)$/s;
// What table_mysql.c skips before a value: blanks, and a `:` only when a blank follows.
const VALUE_LEAD_REGEXP = /^(?:\s|:(?=\s))*/;
const DURATION_REGEXP = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/**
 * Splits configuration text into its keys, as table_postgres.c and table_mysql.c read it:
 * the key ends at the first blank or `:`; after it, blanks and a `:` followed by a blank
 * are skipped, and the value is the rest of the line (`password :x` is `:x`). A key given
 * twice or without a value is a {@link TableContentError} naming the line.
 */
export function parseConfigEntries(text: string): Map<string, ConfigEntry> {
  const entries = new Map<string, ConfigEntry>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = CONFIG_LINE_REGEXP.exec(line)!;
    const key = match[1]!;
    const value = match[2]!.replace(VALUE_LEAD_REGEXP, "").trim();
    if (value === "") throw new TableContentError(`"${key}" needs a value`, i + 1);
    const first = entries.get(key);
    if (first) {
      throw new TableContentError(`"${key}" is given again (first on line ${first.line})`, i + 1);
    }
    entries.set(key, { value, line: i + 1 });
  }
  return entries;
}

/** Refuses keys outside the known set, naming the line of the first. */
export function refuseUnknownKeys(
  entries: ReadonlyMap<string, ConfigEntry>,
  known: ReadonlySet<string>,
): void {
  for (const [key, entry] of entries) {
    if (!known.has(key)) throw new TableContentError(`unknown key "${key}"`, entry.line);
  }
}

/** Reads `pool_size`, `query_timeout` and `cache_ttl`, with their defaults. */
export function readNetworkLimits(entries: ReadonlyMap<string, ConfigEntry>): NetworkLimits {
  const pool = entries.get("pool_size");
  let poolSize = 4;
  if (pool) {
    poolSize = Number(pool.value);
    if (!/^\d+$/.test(pool.value) || poolSize < 1 || poolSize > 100) {
      throw new TableContentError(
        `pool_size: "${pool.value}" is not a number from 1 to 100`,
        pool.line,
      );
    }
  }
  return {
    poolSize,
    timeoutMs: duration(entries.get("query_timeout"), 5_000, "query_timeout", 1),
    cacheTtlMs: duration(entries.get("cache_ttl"), 0, "cache_ttl", 0),
  };
}

function duration(entry: ConfigEntry | undefined, fallback: number, key: string, min: number) {
  if (!entry) return fallback;
  const match = DURATION_REGEXP.exec(entry.value);
  const unit = match?.[2] ?? "s";
  const ms = match ? Number(match[1]) * (unit === "ms" ? 1 : unit === "m" ? 60_000 : 1000) : NaN;
  if (!(ms >= min) || ms > 3_600_000) {
    throw new TableContentError(
      `${key}: "${entry.value}" is not a duration such as 500ms, 5s or 1m`,
      entry.line,
    );
  }
  return Math.round(ms);
}

/** The query keys OpenSMTPD's SQL tables read, by service: the same as table-sqlite's. */
export const SQL_QUERY_KEYS = SQLITE_QUERY_KEYS;

/** A service an SQL table can have a query for. */
export type SqlService = keyof typeof SQL_QUERY_KEYS;
