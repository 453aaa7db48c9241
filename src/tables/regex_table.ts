// The patterns of `regex` tables (`match mail-from regex <t>`): one home for their syntax,
// so a bad pattern is refused when the table loads, never when rules are compiled.

import { errorMessage } from "../mail/mod.ts";
import { posixToJavaScript } from "./posix_regex.ts";
import type { Table } from "./table.ts";
import { TableContentError } from "./table_error.ts";

const CASELESS_PREFIX = "(?i)";

/**
 * Compiles one pattern of a regex table as OpenSMTPD's table_regex_match() does: a POSIX
 * extended expression (posix_regex.ts), unanchored, a leading `(?i)` making it
 * case-insensitive. Throws a SyntaxError, with regerror(3)'s text, for an invalid pattern.
 * The keys it is tested against are lower-cased first (see {@link testRegexKeys}).
 *
 * @example
 * ```ts
 * compileRegexKey("(?i)^postmaster@").test("PostMaster@example.org"); // true
 * ```
 */
export function compileRegexKey(key: string): RegExp {
  return key.startsWith(CASELESS_PREFIX)
    ? new RegExp(posixToJavaScript(key.slice(CASELESS_PREFIX.length)), "si")
    : new RegExp(posixToJavaScript(key), "s");
}

/**
 * Whether any pattern matches the key, lower-cased first as OpenSMTPD's table_lookup()
 * lower-cases every key: `^Alice@` matches nothing, `(?i)^Alice@` matches `alice@…`.
 */
export function testRegexKeys(patterns: readonly RegExp[], key: string): boolean {
  const lower = key.toLowerCase();
  return patterns.some((p) => p.test(lower));
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
      const why = errorMessage(error);
      throw new TableContentError(
        `invalid regular expression ${JSON.stringify(key)}: ${why}`,
        table.lineOf?.(key),
      );
    }
  });
}
