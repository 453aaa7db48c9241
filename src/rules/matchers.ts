// Key matchers for criteria. Small enumerable tables are copied into sets at compile time
// (the daemon compiles again after a table reload); others are asked through
// `table.match`; `regex` tables become regular expressions.

import { splitAddress, untaggedLocal } from "../mail/mod.ts";
import {
  compileRegexTable,
  hostnameMatch,
  matchWildcardAddresses,
  type Table,
  type TableService,
  testRegexKeys,
  wildcardAddressOf,
} from "../tables/mod.ts";

/** A compiled membership test. */
export type KeyMatcher = (key: string) => boolean;

/**
 * Regular expressions: POSIX extended, unanchored, `(?i)` prefix for case-insensitive,
 * tried on the lower-cased key (the tables box compiles them, and checked them when the
 * table loaded).
 */
export function regexMatcher(table: Table): KeyMatcher {
  const patterns = compileRegexTable(table);
  return (key) => testRegexKeys(patterns, key);
}

/** Tables up to this many keys are copied into sets; larger ones are asked entry by entry. */
export const SNAPSHOT_LIMIT = 10_000;
const snapshots = new WeakMap<Table, Map<TableService, KeyMatcher | undefined>>();

/**
 * An in-memory matcher equal to `table.match(service, key)` for the table's current
 * contents, for keys already lower-cased; undefined when the table is large, cannot list
 * its keys, or the service is not one copied this way (networks are already fast in the
 * tables themselves).
 */
export function snapshotMatcher(table: Table, service: TableService): KeyMatcher | undefined {
  let byService = snapshots.get(table);
  if (!byService) snapshots.set(table, byService = new Map());
  if (byService.has(service)) return byService.get(service);
  const keys = listKeys(table);
  let matcher: KeyMatcher | undefined;
  if (keys) {
    if (service === "domain") matcher = domainSet(keys);
    else if (service === "string") matcher = stringSet(keys);
  }
  byService.set(service, matcher);
  return matcher;
}

function listKeys(table: Table): string[] | undefined {
  try {
    const keys: string[] = [];
    for (const key of table.keys()) {
      if (keys.length >= SNAPSHOT_LIMIT) return undefined;
      keys.push(key.toLowerCase());
    }
    return keys;
  } catch {
    return undefined;
  }
}

// Domains: case-insensitive; `*.example.org` matches exactly one more label; `*` anything;
// other patterns with a `*` as the tables box's hostnameMatch() says.
function domainSet(keys: readonly string[]): KeyMatcher {
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  const globs: string[] = [];
  let any = false;
  for (const k of keys) {
    if (k === "*") any = true;
    else if (k.startsWith("*.") && !k.slice(2).includes("*")) wildcard.add(k.slice(2));
    else if (k.includes("*")) globs.push(k);
    else exact.add(k);
  }
  if (any) return () => true;
  if (globs.length > 0) {
    return (key) => {
      if (exact.has(key)) return true;
      const dot = key.indexOf(".");
      if (dot > 0 && wildcard.has(key.slice(dot + 1))) return true;
      return globs.some((g) => hostnameMatch(key, g));
    };
  }
  if (wildcard.size === 0) {
    if (exact.size === 1) {
      const only = [...exact][0]!;
      return (key) => key === only;
    }
    return (key) => exact.has(key);
  }
  return (key) => {
    if (exact.has(key)) return true;
    const dot = key.indexOf(".");
    return dot > 0 && wildcard.has(key.slice(dot + 1));
  };
}

/** An address split once per decision, lower-cased, for mailaddr lookups. */
export interface AddressParts {
  /** The whole address ("" for the null sender). */
  readonly full: string;
  /** Without its `+tag` (the same as `full` when untagged). */
  readonly bare: string;
  /** `@domain`, or "" without a domain. */
  readonly atDomain: string;
  readonly local: string;
  readonly localBare: string;
}

/** Splits a lower-cased address for {@link mailaddrPartsMatcher}. */
export function addressParts(address: string): AddressParts {
  const { local } = splitAddress(address);
  // "" without an `@`, and "@" for a trailing one, as the address has it.
  const atDomain = address.slice(local.length);
  const localBare = untaggedLocal(local);
  return {
    full: address,
    bare: localBare === local ? address : localBare + atDomain,
    atDomain,
    local,
    localBare,
  };
}

/**
 * table(5) mailaddr over a snapshot: `user@domain`, `user`, `@domain`; an entry without
 * `+tag` matches tagged addresses, one with a tag only itself; the null sender matches
 * nothing. Undefined when the table cannot be copied.
 */
export function mailaddrPartsMatcher(table: Table): ((parts: AddressParts) => boolean) | undefined {
  const keys = listKeys(table);
  if (!keys) return undefined;
  const wildcards = keys.flatMap((k) => wildcardAddressOf(k) ?? []);
  const entries = new Set(keys.filter((k) => !wildcardAddressOf(k)));
  if (wildcards.length > 0) {
    const plain = plainMailaddrs(entries);
    return (p) =>
      plain(p) ||
      matchWildcardAddresses(wildcards, {
        local: p.local,
        bare: p.localBare,
        domain: p.atDomain.slice(1),
      });
  }
  if (entries.size === 1) {
    const only = keys[0]!;
    return (p) =>
      p.full !== "" &&
      (p.full === only || p.bare === only || p.atDomain === only || p.local === only ||
        p.localBare === only);
  }
  return plainMailaddrs(entries);
}

function plainMailaddrs(entries: ReadonlySet<string>): (parts: AddressParts) => boolean {
  return (p) =>
    p.full !== "" &&
    (entries.has(p.full) || entries.has(p.bare) || (p.atDomain !== "" && entries.has(p.atDomain)) ||
      entries.has(p.local) || entries.has(p.localBare));
}

function stringSet(keys: readonly string[]): KeyMatcher {
  const entries = new Set(keys);
  return (key) => entries.has(key);
}
