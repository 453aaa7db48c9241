// aliases(5) text: `name: value, value, …` entries, `#` comment lines, and entries that
// continue on lines starting with white space or after a line ending in `\`.

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

const ENTRY_REGEXP = /^([^:\s]+)\s*:\s*(.*)$/s;

/**
 * Parses aliases(5) text.
 *
 * @example
 * ```ts
 * const { entries } = parseAliases("Root: gilles,\n  eric\n");
 * // entries: [["root", "gilles, eric"]]
 * ```
 */
export function parseAliases(text: string): ParsedAliases {
  const entries: [string, string][] = [];
  const lines: number[] = [];
  const errors: AliasesError[] = [];
  for (const { line, content } of logicalLines(text)) {
    const match = ENTRY_REGEXP.exec(content);
    if (!match) {
      errors.push({ line, message: `expected "name: value", got ${JSON.stringify(content)}` });
      continue;
    }
    const values = splitValues(match[2]!);
    if (values.length === 0) {
      errors.push({ line, message: `alias "${match[1]}" has no value` });
      continue;
    }
    entries.push([match[1]!.toLowerCase(), values.join(", ")]);
    lines.push(line);
  }
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

// Joins continuation lines; each logical line keeps the number of its first line.
function logicalLines(text: string): { line: number; content: string }[] {
  const out: { line: number; content: string }[] = [];
  let joinNext = false;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    if (raw.endsWith("\r")) raw = raw.slice(0, -1);
    const trimmed = raw.trim();
    if (trimmed.startsWith("#")) continue;
    const escaped = raw.endsWith("\\");
    const part = escaped ? raw.slice(0, -1) : raw;
    const last = out[out.length - 1];
    if (last && (joinNext || (/^\s/.test(raw) && trimmed !== ""))) {
      last.content = `${last.content} ${part.trim()}`;
    } else if (trimmed !== "") {
      out.push({ line: i + 1, content: part.trim() });
    }
    joinNext = escaped;
  }
  return out;
}
