// The `file:` backend: table(5) text files. A line is a key alone (a list entry) or a key,
// optional `:`, white space and a value; `#` starts a comment; a value may be a
// comma-separated list; `\` at the end of a line continues it; `# @list` forces a list.

import { StaticTable } from "./static.ts";
import { parseTableText } from "./table_text.ts";

/** The parsed contents of a table file, before any backend holds them. */
export interface TableEntries {
  readonly shape: "list" | "map";
  readonly entries: readonly (readonly [string, string])[];
  /** The 1-based line each entry starts on, in the order of `entries`. */
  readonly lines?: readonly number[];
}

const LIST_MARKER_REGEXP = /^#\s*@list\s*$/;
const ENTRY_REGEXP = /^(\S+)(?:\s+(.*))?$/;

/**
 * Parses table(5) text: a file with any value is a map, otherwise a list. In a list each
 * line is one key; in a map, list entries map a key to itself.
 *
 * @example
 * ```ts
 * const { shape, entries } = parseTableEntries("root: gilles\nstaff a, b\n");
 * // shape === "map", entries: [["root", "gilles"], ["staff", "a, b"]]
 * ```
 */
export function parseTableEntries(text: string): TableEntries {
  let forcedList = false;
  const lines: string[] = [];
  const numbers: number[] = [];
  for (const { text: line, number } of joinContinuations(text)) {
    if (LIST_MARKER_REGEXP.test(line.trim())) forcedList = true;
    const content = stripComment(line).trim();
    if (content === "") continue;
    lines.push(content);
    numbers.push(number);
  }
  if (forcedList) {
    return { shape: "list", entries: lines.map((l) => [l, l] as const), lines: numbers };
  }
  const entries: [string, string][] = [];
  let hasValues = false;
  for (const line of lines) {
    const match = ENTRY_REGEXP.exec(line);
    const value = match?.[2]?.trim();
    const key = dropKeyColon(match?.[1] ?? line);
    if (value !== undefined && value !== "") {
      hasValues = true;
      entries.push([key, normaliseListValue(value)]);
    } else {
      entries.push([key, key]);
    }
  }
  return { shape: hasValues ? "map" : "list", entries, lines: numbers };
}

/** Parses table(5) text into a list or map table that knows the line of each key. */
export function parseTableFile(name: string, text: string): StaticTable {
  const { shape, entries, lines } = parseTableEntries(text);
  return new StaticTable(name, shape, entries, { lines: keyLines(entries, lines) });
}

/** Reads and parses a table file; the error names the table, the path and the line. */
export function loadTableFile(name: string, path: string): Promise<StaticTable> {
  return parseTableText(name, path, (text) => parseTableFile(name, text));
}

// The first line each key is written on: what a message about the key points at.
function keyLines(
  entries: readonly (readonly [string, string])[],
  lines: readonly number[] | undefined,
): Map<string, number> {
  const byKey = new Map<string, number>();
  entries.forEach(([key], i) => {
    const line = lines?.[i];
    if (line !== undefined && !byKey.has(key)) byKey.set(key, line);
  });
  return byKey;
}

// `name: value` (aliases(5) style) names the key `name`; an IPv6 `…::` keeps its colons.
function dropKeyColon(key: string): string {
  return key.endsWith(":") && !key.endsWith("::") && key.length > 1 ? key.slice(0, -1) : key;
}

// A line ending in `\` continues on the next one; each joined line keeps its first number.
function joinContinuations(text: string): { text: string; number: number }[] {
  const out: { text: string; number: number }[] = [];
  let pending = "";
  let continuing = false;
  let first = 1;
  const raws = text.split("\n");
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!continuing) first = i + 1;
    continuing = line.endsWith("\\");
    if (continuing) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push({ text: pending + line, number: first });
    pending = "";
  }
  if (pending !== "") out.push({ text: pending, number: first });
  return out;
}

// `#` at the start of a line or after white space starts a comment.
function stripComment(line: string): string {
  const hash = line.search(/(^|\s)#/);
  return hash === -1 ? line : line.slice(0, hash);
}

// `key a, b ,c` and `key a,b` mean the same list.
function normaliseListValue(value: string): string {
  if (!value.includes(",")) return value;
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "").join(", ");
}
