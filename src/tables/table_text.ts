// Reading a table's text file: strict UTF-8 without NUL bytes, so a corrupt or binary file
// is refused with its line instead of being read as replacement characters.

import { errorMessage } from "../mail/mod.ts";
import { TableContentError, TableLoadError, toTableLoadError } from "./table_error.ts";

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes table text; throws a {@link TableContentError} naming the line of the first
 * byte that is not UTF-8 or is NUL.
 */
export function decodeTableText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    throw new TableContentError("the file is not UTF-8 text", lineOfBadUtf8(bytes));
  }
  const nul = text.indexOf("\0");
  if (nul !== -1) throw new TableContentError("the file holds a NUL byte", lineAt(text, nul));
  return text;
}

/** Reads a table's file as text; the error names the table, the path and the line. */
export async function readTableText(name: string, path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const why = errorMessage(error);
    throw new TableLoadError({ table: name, file: path }, why, { cause: error });
  }
  try {
    return decodeTableText(bytes);
  } catch (error) {
    const e = error as TableContentError;
    throw new TableLoadError({ table: name, file: path, line: e.line }, e.reason, { cause: e });
  }
}

/**
 * Reads a table's file and parses its text: what reading or parsing refuses becomes a
 * {@link TableLoadError} naming the table, the path and (from a TableContentError) the line.
 */
export async function parseTableText<T>(
  name: string,
  path: string,
  parse: (text: string) => T,
): Promise<T> {
  const text = await readTableText(name, path);
  try {
    return parse(text);
  } catch (error) {
    throw toTableLoadError({ table: name, file: path }, error);
  }
}

/** The 1-based line of a character offset in text. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

// The line holding the first invalid sequence: each line is decoded on its own until one
// fails (a newline byte never sits inside a valid multi-byte sequence).
function lineOfBadUtf8(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    try {
      STRICT_UTF8.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    line++;
    start = end + 1;
  }
  return line;
}
