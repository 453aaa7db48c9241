// The `yaml:` backend: a YAML file whose top level is a list (a list table) or a mapping
// (a map table; a value that is a list becomes the joined value `a, b`).

import { parse } from "yaml";
import { readTableText } from "./file.ts";
import { StaticTable } from "./static.ts";
import { errorMessage } from "../mail/mod.ts";

/** Builds a table from YAML text; throws on a shape the backend cannot hold. */
export function parseYamlTable(name: string, text: string): StaticTable {
  const doc: unknown = parse(text);
  if (doc === null || doc === undefined) return new StaticTable(name, "list", []);
  if (Array.isArray(doc)) {
    return StaticTable.fromList(name, doc.map((item, i) => scalar(item, `item ${i + 1}`)));
  }
  if (typeof doc === "object") {
    const entries = Object.entries(doc as Record<string, unknown>).map(([key, value]) => {
      const text = Array.isArray(value)
        ? value.map((v, i) => scalar(v, `"${key}" item ${i + 1}`)).join(", ")
        : scalar(value, `"${key}"`);
      return [key, text] as const;
    });
    return new StaticTable(name, "map", entries);
  }
  throw new Error("the top level must be a list or a mapping");
}

/** Reads a YAML table file; the error names the table and the path. */
export async function loadYamlTable(name: string, path: string): Promise<StaticTable> {
  const text = await readTableText(name, path);
  try {
    return parseYamlTable(name, text);
  } catch (error) {
    const why = errorMessage(error);
    throw new Error(`Cannot load table "${name}" from "${path}": ${why}`);
  }
}

function scalar(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  throw new Error(`${where} must be a string, got ${value === null ? "null" : typeof value}`);
}
