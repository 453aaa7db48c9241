// Key matchers for criteria: a table consulted for the criterion's service, or a table
// of regular expressions (the `regex` keyword).

import type { Table, TableService } from "../tables/mod.ts";

/** A compiled membership test. */
export type KeyMatcher = (key: string) => boolean;

/** Splits `local@domain`; an address without `@` is all local part. */
export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  if (at === -1) return { local: address, domain: "" };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** Matches keys through the table's own rules for the service. */
export function serviceMatcher(table: Table, service: TableService): KeyMatcher {
  return (key) => table.match(service, key);
}

/** Regular expressions: unanchored, `(?i)` prefix for case-insensitive. */
export function regexMatcher(table: Table): KeyMatcher {
  const patterns: RegExp[] = [];
  for (const key of table.keys()) {
    patterns.push(key.startsWith("(?i)") ? new RegExp(key.slice(4), "i") : new RegExp(key));
  }
  return (key) => patterns.some((p) => p.test(key));
}
