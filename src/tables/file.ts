// The `file:` backend: table(5) text files. A line is a key alone (a list entry) or a key,
// optional `:`, white space and a value; `#` starts a comment; a value may be a
// comma-separated list; `\` at the end of a line continues it; `# @list` forces a list.

import { StaticTable } from "./static.ts";
import { errorMessage } from "../mail/mod.ts";

/** The parsed contents of a table file, before any backend holds them. */
export interface TableEntries {
  readonly shape: "list" | "map";
  readonly entries: readonly (readonly [string, string])[];
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
  for (const line of joinContinuations(text)) {
    if (LIST_MARKER_REGEXP.test(line.trim())) forcedList = true;
    const content = stripComment(line).trim();
    if (content !== "") lines.push(content);
  }
  if (forcedList) return { shape: "list", entries: lines.map((l) => [l, l] as const) };
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
  return { shape: hasValues ? "map" : "list", entries };
}

/** Parses table(5) text into a list or map table. */
export function parseTableFile(name: string, text: string): StaticTable {
  const { shape, entries } = parseTableEntries(text);
  return new StaticTable(name, shape, entries);
}

/** Reads and parses a table file; the error names the table and the path. */
export async function loadTableFile(name: string, path: string): Promise<StaticTable> {
  return parseTableFile(name, await readTableText(name, path));
}

/** Reads a table's file as text; the error names the table and the path. */
export async function readTableText(name: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = errorMessage(error);
    throw new Error(`Cannot load table "${name}" from "${path}": ${why}`);
  }
}

// `name: value` (aliases(5) style) names the key `name`; an IPv6 `…::` keeps its colons.
function dropKeyColon(key: string): string {
  return key.endsWith(":") && !key.endsWith("::") && key.length > 1 ? key.slice(0, -1) : key;
}

// A line ending in `\` continues on the next one.
function joinContinuations(text: string): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push(pending + line);
    pending = "";
  }
  if (pending !== "") out.push(pending);
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
