// The `yaml:` backend: a YAML file whose top level is a list (a list table) or a mapping
// (a map table; a value that is a list becomes the joined value `a, b`). Errors name the line.

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { StaticTable } from "./static.ts";
import { TableContentError } from "./table_error.ts";
import { parseTableText } from "./table_text.ts";

/**
 * Builds a table from YAML text; throws a {@link TableContentError} with the line of a
 * syntax error or of a node the backend cannot hold.
 */
export function parseYamlTable(name: string, text: string): StaticTable {
  checkNesting(text);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  // A warning (an unknown tag) would change what a value means: refused like an error.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const first = problem.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const why = problem.code === "MULTIPLE_DOCS" ? "the file holds more than one document" : first;
    throw new TableContentError(why, problem.linePos?.[0]?.line);
  }
  const nodes = new YamlNodes(doc, lineCounter);
  const root = nodes.resolve(doc.contents, undefined);
  if (root === null || (isScalar(root) && root.value === null)) {
    return new StaticTable(name, "list", []);
  }
  const lines = new Map<string, number>();
  const at = (key: string, line: number | undefined) => {
    if (line !== undefined && !lines.has(key)) lines.set(key, line);
  };
  if (isSeq(root)) {
    const values = root.items.map((item, i) => {
      const line = nodes.lineOf(item);
      const value = nodes.scalar(item, `item ${i + 1}`, line);
      at(value, line);
      return value;
    });
    return new StaticTable(name, "list", values.map((v) => [v, v] as const), { lines });
  }
  if (isMap(root)) {
    const entries = root.items.map((pair) => {
      const keyLine = nodes.lineOf(pair.key) ?? nodes.lineOf(root);
      const key = nodes.scalar(pair.key, "a key", keyLine);
      const node = nodes.resolve(pair.value, keyLine);
      const value = isSeq(node)
        ? node.items.map((v, i) =>
          nodes.scalar(v, `"${key}" item ${i + 1}`, nodes.lineOf(v) ?? keyLine)
        ).join(", ")
        : nodes.scalar(node, `"${key}"`, nodes.lineOf(node) ?? keyLine);
      at(key, keyLine);
      return [key, value] as const;
    });
    return new StaticTable(name, "map", entries, { lines });
  }
  throw new TableContentError("the top level must be a list or a mapping", nodes.lineOf(root));
}

// A table nests two levels at most (a mapping of lists). The YAML parser recurses per
// level, and on compact `- - - …` in time that grows with the square of the depth: far
// deeper documents are refused before it sees them.
const MAX_NESTING = 64;
const LEADING_INDICATORS_REGEXP = /^(?:\s*[-?:](?:\s+|$))+/;

function checkNesting(text: string): void {
  let flow = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const leading = LEADING_INDICATORS_REGEXP.exec(line)?.[0] ?? "";
    const indicators = leading.replace(/\s+/g, "").length;
    let deepest = indicators + flow;
    let quote = "";
    for (let j = leading.length; j < line.length; j++) {
      const c = line[j]!;
      if (quote !== "") {
        if (c === quote) quote = "";
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "#" && (j === 0 || /\s/.test(line[j - 1]!))) break;
      else if (c === "[" || c === "{") deepest = Math.max(deepest, indicators + ++flow);
      else if ((c === "]" || c === "}") && flow > 0) flow--;
    }
    if (deepest > MAX_NESTING) {
      throw new TableContentError(`the document nests more than ${MAX_NESTING} levels deep`, i + 1);
    }
  }
}

/** Reads a YAML table file; the error names the table, the path and the line. */
export function loadYamlTable(name: string, path: string): Promise<StaticTable> {
  return parseTableText(name, path, (text) => parseYamlTable(name, text));
}

// The nodes of one document, with their lines.
class YamlNodes {
  #doc: Document;
  #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  lineOf(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.#lines.linePos(range[0]).line : undefined;
  }

  // An alias (`*name`) stands for the node its anchor names.
  resolve(node: unknown, line: number | undefined): unknown {
    if (!isAlias(node)) return node ?? null;
    const target = node.resolve(this.#doc);
    if (target === undefined) {
      throw new TableContentError(
        `alias "*${node.source}" names no anchor`,
        this.lineOf(node) ?? line,
      );
    }
    return target;
  }

  scalar(node: unknown, where: string, line: number | undefined): string {
    const resolved = this.resolve(node, line);
    const value = isScalar(resolved) ? resolved.value : resolved;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
      return String(value);
    }
    const got = value === null
      ? "null"
      : isSeq(value)
      ? "a list"
      : isMap(value)
      ? "a mapping"
      : typeof value;
    throw new TableContentError(`${where} must be a string, got ${got}`, line);
  }
}
