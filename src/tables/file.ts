// The `file:` backend: table(5) text files, read by the line rules of table_lines.ts (which
// makemap shares). A file with values is a map, whose values may be comma-separated lists;
// otherwise, or after `# @list`, a list.

import { splitValues } from "./aliases_text.ts";
import { StaticTable } from "./static.ts";
import { TableContentError } from "./table_error.ts";
import { parseTableLines, type TableLineError } from "./table_lines.ts";
import { parseTableText } from "./table_text.ts";

/** The parsed contents of a table file, before any backend holds them. */
export interface TableEntries {
  readonly shape: "list" | "map";
  readonly entries: readonly (readonly [string, string])[];
  /** The 1-based line each entry starts on, in the order of `entries`. */
  readonly lines?: readonly number[];
}

/**
 * Parses table(5) text by the rules of {@link parseTableLines}: a file with any value is a
 * map, otherwise a list. In a list each line is one key; in a map, a key alone maps to
 * itself. A line those rules refuse comes back in `errors`.
 *
 * @example
 * ```ts
 * const { contents } = readTableEntries("root: gilles\nstaff a,\n  b\n");
 * // contents.shape === "map", entries: [["root", "gilles"], ["staff", "a, b"]]
 * ```
 */
export function readTableEntries(
  text: string,
): { contents: TableEntries; errors: readonly TableLineError[] } {
  const { list, entries, errors } = parseTableLines(text);
  const lines = entries.map((e) => e.line);
  const hasValues = !list && entries.some((e) => e.value !== "");
  const pairs = entries.map(({ key, value }) =>
    [key, value === "" ? key : normaliseListValue(value)] as const
  );
  return { contents: { shape: hasValues ? "map" : "list", entries: pairs, lines }, errors };
}

/**
 * Parses table(5) text as {@link readTableEntries} does; throws a TableContentError naming
 * the first line its rules refuse.
 */
export function parseTableEntries(text: string): TableEntries {
  const { contents, errors } = readTableEntries(text);
  const first = errors[0];
  if (first) throw new TableContentError(first.message, first.line);
  return contents;
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

// `key a, b ,c` and `key a,b` mean the same list; a comma inside double quotes (a
// command's arguments) is not a separator, as in aliases(5).
function normaliseListValue(value: string): string {
  return value.includes(",") ? splitValues(value).join(", ") : value;
}
