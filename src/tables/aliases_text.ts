// aliases(5) text: `name: value, value, …` entries, read by the line rules of every table
// file (table_lines.ts); what is left here is that each name has a list of values.

import { parseTableLines } from "./table_lines.ts";

/** A line of aliases(5) text that is not an entry. */
export interface AliasesError {
  readonly line: number;
  readonly message: string;
}

/** Parsed aliases(5) text: entries (names lowercased, values `a, b`) and bad lines. */
export interface ParsedAliases {
  readonly entries: readonly (readonly [string, string])[];
  /** The 1-based line each entry starts on, in the order of `entries`. */
  readonly lines: readonly number[];
  readonly errors: readonly AliasesError[];
}

/**
 * Parses aliases(5) text by the line rules a `file:` table follows (table_lines.ts), so
 * `makemap -t aliases` stores what the same file answers as a `file:` table. Every entry
 * needs a value; `# @list` is a comment here, as in OpenSMTPD's makemap.
 *
 * @example
 * ```ts
 * const { entries } = parseAliases("Root: gilles,\n  eric\n");
 * // entries: [["root", "gilles, eric"]]
 * ```
 */
export function parseAliases(text: string): ParsedAliases {
  const parsed = parseTableLines(text, { shape: "map" });
  const entries: [string, string][] = [];
  const lines: number[] = [];
  const errors: AliasesError[] = [...parsed.errors];
  for (const { key, value, line } of parsed.entries) {
    const values = splitValues(value);
    if (values.length === 0) {
      errors.push({ line, message: `alias "${key}" has no value` });
      continue;
    }
    entries.push([key.toLowerCase(), values.join(", ")]);
    lines.push(line);
  }
  errors.sort((a, b) => a.line - b.line);
  return { entries, lines, errors };
}

/** Splits a comma-separated value list, keeping commas inside double quotes. */
export function splitValues(text: string): string[] {
  const values: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      values.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  values.push(current.trim());
  return values.filter((v) => v !== "");
}
