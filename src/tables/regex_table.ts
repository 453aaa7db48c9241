// The patterns of `regex` tables (`match mail-from regex <t>`): one home for their syntax,
// so a bad pattern is refused when the table loads, never when rules are compiled.

import { errorMessage } from "../mail/mod.ts";
import type { Table } from "./table.ts";
import { TableContentError } from "./table_error.ts";

const CASELESS_PREFIX = "(?i)";

/**
 * Compiles one pattern of a regex table: unanchored, a leading `(?i)` makes it
 * case-insensitive. Throws a SyntaxError for an invalid pattern.
 *
 * @example
 * ```ts
 * compileRegexKey("(?i)^postmaster@").test("PostMaster@example.org"); // true
 * ```
 */
export function compileRegexKey(key: string): RegExp {
  return key.startsWith(CASELESS_PREFIX)
    ? new RegExp(key.slice(CASELESS_PREFIX.length), "i")
    : new RegExp(key);
}

/**
 * Compiles every pattern of a regex table. A pattern that does not compile, or a table
 * that cannot list its keys, throws a {@link TableContentError} with the key's line.
 */
export function compileRegexTable(table: Table): RegExp[] {
  let keys: string[];
  try {
    keys = [...table.keys()];
  } catch (error) {
    throw new TableContentError(`a regex table must list its patterns: ${errorMessage(error)}`);
  }
  return keys.map((key) => {
    try {
      return compileRegexKey(key);
    } catch (error) {
      const why = errorMessage(error).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
      throw new TableContentError(
        `invalid regular expression ${JSON.stringify(key)}: ${why}`,
        table.lineOf?.(key),
      );
    }
  });
}
