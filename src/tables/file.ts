// The `file:` backend: table(5) text files. A line is a key alone (a list entry) or a key,
// white space and a value; `#` starts a comment; a value may be a comma-separated list.

import { StaticTable } from "./static.ts";

/** Parses table(5) text into a list or map table (a file with any value is a map). */
export function parseTableFile(name: string, text: string): StaticTable {
  const entries: [string, string][] = [];
  let hasValues = false;
  for (const raw of text.split("\n")) {
    const line = stripComment(raw).trim();
    if (line === "") continue;
    const match = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (!match) continue;
    const key = match[1]!;
    const value = match[2]?.trim();
    if (value !== undefined && value !== "") {
      hasValues = true;
      entries.push([key, normaliseListValue(value)]);
    } else {
      entries.push([key, key]);
    }
  }
  return new StaticTable(name, hasValues ? "map" : "list", entries);
}

/** Reads and parses a table file; the error names the table and the path. */
export async function loadTableFile(name: string, path: string): Promise<StaticTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot load table "${name}" from "${path}": ${why}`);
  }
  return parseTableFile(name, text);
}

function stripComment(line: string): string {
  const hash = line.indexOf("#");
  return hash === -1 ? line : line.slice(0, hash);
}

// `key a, b ,c` and `key a,b` mean the same list.
function normaliseListValue(value: string): string {
  if (!value.includes(",")) return value;
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "").join(", ");
}
