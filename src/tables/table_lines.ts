// The line rules of table(5) text, one set for `file:` tables and for what makemap(8) and
// newaliases(8) read, so a file means the same in both: comments, continuations and where
// a key ends. What a value means (a list entry, an alias list) is left to the readers.

import { parseNetBlock } from "../net/mod.ts";

/** A line of table text that cannot be read as an entry. */
export interface TableLineError {
  readonly line: number;
  readonly message: string;
}

/** A key and its value as written (`""` for a key alone), with the line it starts on. */
export interface TableLineEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** Table text read line by line. */
export interface ParsedTableLines {
  /** Every line is a key of its own: `# @list` was written, or the reader asked for a list. */
  readonly list: boolean;
  readonly entries: readonly TableLineEntry[];
  readonly errors: readonly TableLineError[];
}

/** Options of {@link parseTableLines}. */
export interface TableLinesOptions {
  /** `list`: every line is a key (makemap -t set); `map`: `# @list` is only a comment. */
  readonly shape?: "list" | "map" | undefined;
}

const LIST_MARKER_REGEXP = /^#\s*@list\s*$/;
const COMMENT_REGEXP = /(^|\s)#/;
const BLANK_OR_COLON_REGEXP = /[ \t:]/;

/**
 * Reads table(5) text. Blank lines and lines whose first non-blank is `#` are skipped, and
 * `#` after a blank starts a comment (aliases(5), makemap(8)). A line ending in `\` goes on
 * on the next one (makemap(8)). A key ends at the first blank or `:` (OpenSMTPD's
 * parse_table_line), except an IPv6 address or network and a `[…]` key; the value is the
 * rest after that one character and any blanks. A line starting with a blank continues the
 * entry above when that one ends in `,` or `:` (aliases(5)'s continuation lines); any other
 * indented line stands alone, as table(5) ignores leading blanks — except a key alone
 * among entries with values, which OpenSMTPD refuses and is reported here.
 *
 * @example
 * ```ts
 * const { entries } = parseTableLines("staff: alice,\n  bob\nroot gilles # admin\n");
 * // entries: [{ key: "staff", value: "alice, bob", line: 1 },
 * //           { key: "root", value: "gilles", line: 3 }]
 * ```
 */
export function parseTableLines(text: string, options: TableLinesOptions = {}): ParsedTableLines {
  const lines = contentLines(text);
  const list = options.shape === "list" || (options.shape !== "map" && lines.some((l) => l.marker));
  const written = lines.filter((l) => !l.marker);
  if (list) {
    return {
      list,
      entries: written.map(({ text, number }) => ({ key: text, value: "", line: number })),
      errors: [],
    };
  }
  const entries: { key: string; value: string; line: number; open: boolean }[] = [];
  const errors: TableLineError[] = [];
  const strays: { line: number; key: string; after: number }[] = [];
  for (const { text, number, indented } of written) {
    const last = entries[entries.length - 1];
    if (indented && last?.open) {
      last.value = last.value === "" ? text : `${last.value} ${text}`;
      last.open = last.value.endsWith(",");
      continue;
    }
    const { key, value, colon } = splitEntry(text);
    if (key === "") {
      errors.push({ line: number, message: `no key before ":" in ${JSON.stringify(text)}` });
      continue;
    }
    if (indented && last && value === "") strays.push({ line: number, key, after: last.line });
    entries.push({ key, value, line: number, open: value === "" ? colon : value.endsWith(",") });
  }
  // In a list a key alone is what every line is; among values it is a lost continuation.
  if (entries.some((e) => e.value !== "")) {
    for (const { line, key, after } of strays) {
      const message =
        `"${key}" is indented as a continuation, but line ${after} does not end in "," or ":"`;
      errors.push({ line, message });
    }
    errors.sort((a, b) => a.line - b.line);
  }
  return { list, entries: entries.map(({ key, value, line }) => ({ key, value, line })), errors };
}

interface ContentLine {
  readonly text: string;
  readonly number: number;
  readonly indented: boolean;
  /** The line is `# @list`. */
  readonly marker: boolean;
}

// The lines that hold something, comments cut off, `\` continuations joined; each keeps
// the number of its first line.
function contentLines(text: string): ContentLine[] {
  const out: ContentLine[] = [];
  let pending = "";
  let continuing = false;
  let first = 1;
  const raws = text.split("\n");
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!.endsWith("\r") ? raws[i]!.slice(0, -1) : raws[i]!;
    if (!continuing) first = i + 1;
    continuing = raw.endsWith("\\");
    pending += continuing ? raw.slice(0, -1) : raw;
    if (continuing && i < raws.length - 1) continue;
    const line = pending;
    pending = "";
    const marker = LIST_MARKER_REGEXP.test(line.trim());
    const hash = line.search(COMMENT_REGEXP);
    const content = (hash === -1 ? line : line.slice(0, hash)).trim();
    if (content === "" && !marker) continue;
    out.push({ text: content, number: first, indented: /^\s/.test(line), marker });
  }
  return out;
}

// OpenSMTPD's parse_table_line: `[…]` is a key; else the key ends at a blank or `:`. An
// IPv6 address keeps its colons (OpenSMTPD would cut `fe80::1` into `fe80` and `:1`).
function splitEntry(text: string): { key: string; value: string; colon: boolean } {
  let end: number;
  const close = text.startsWith("[") ? text.indexOf("]") : -1;
  const word = text.split(/\s/, 1)[0]!;
  if (close !== -1) end = close + 1;
  else if (word.includes(":") && parseNetBlock(word) !== undefined) end = word.length;
  else if (word.endsWith(":") && parseNetBlock(word.slice(0, -1)) !== undefined) {
    end = word.length - 1;
  } else {
    end = text.search(BLANK_OR_COLON_REGEXP);
    if (end === -1) end = text.length;
  }
  const key = text.slice(0, end);
  const rest = text.slice(end);
  const colon = rest.startsWith(":");
  return { key, value: (colon ? rest.slice(1) : rest).trim(), colon };
}
