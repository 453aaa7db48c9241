// The `key value` lines of OpenSMTPD-extras' table configuration files (table_redis.c and
// table_ldap.c read them alike): `#` comments, the key ends at a blank or `:`, no key twice.

import { TableContentError } from "../table_error.ts";

/** One `key value` line of a configuration file. */
export interface ConfigLine {
  readonly value: string;
  /** The 1-based line it was read from. */
  readonly line: number;
}

/**
 * Splits configuration text into its keys. A key without a value, given twice, or outside
 * `known` is a {@link TableContentError} naming its line (the C backends warn and go on;
 * here nothing is silently ignored).
 */
export function readConfigLines(text: string, known: ReadonlySet<string>): Map<string, ConfigLine> {
  const entries = new Map<string, ConfigLine>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([^\s:]+)[\s:]*(.*)$/s.exec(line)!;
    const key = match[1]!;
    const value = match[2]!.trim();
    if (!known.has(key)) throw new TableContentError(`unknown key "${key}"`, i + 1);
    if (value === "") throw new TableContentError(`"${key}" needs a value`, i + 1);
    const first = entries.get(key);
    if (first) {
      throw new TableContentError(`"${key}" is given again (first on line ${first.line})`, i + 1);
    }
    entries.set(key, { value, line: i + 1 });
  }
  return entries;
}

/** Reads an integer key within bounds, or the fallback when it is absent. */
export function readInteger(
  entries: ReadonlyMap<string, ConfigLine>,
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
