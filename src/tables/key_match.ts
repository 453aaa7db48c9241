// The table(5) matching rules for domains and mail addresses, written over a key probe so
// every backend (memory, db, sqlite) gives the same answers. Probes receive lowercased keys.

import { splitAddress, untaggedLocal } from "../mail/mod.ts";

/** Answers whether a (lowercased) key is present in a table. */
export type KeyProbe = (key: string) => boolean;

/**
 * OpenSMTPD's hostname_match() (util.c): case-insensitive, a `*` skips to the first
 * occurrence of the character after it, with no backtracking. So `*.example.org` matches
 * `a.example.org` but neither `example.org` nor `b.a.example.org`, `*` matches anything,
 * and `mx*.example.org` matches `mx1.example.org`.
 *
 * @example
 * ```ts
 * hostnameMatch("a.example.org", "*.example.org"); // true
 * hostnameMatch("b.a.example.org", "*.example.org"); // false
 * ```
 */
export function hostnameMatch(hostname: string, pattern: string): boolean {
  const h = hostname.toLowerCase();
  const p = pattern.toLowerCase();
  let i = 0;
  let j = 0;
  while (j < p.length && i < h.length) {
    if (p[j] === "*") {
      while (p[j] === "*") j++;
      const next = p[j];
      while (i < h.length && h[i] !== next) i++;
      continue;
    }
    if (p[j] !== h[i]) return false;
    i++;
    j++;
  }
  return i === h.length && j === p.length;
}

/**
 * Domain rules: case-insensitive; `*.example.org` matches exactly one more label
 * (`a.example.org`, not `example.org` nor `b.a.example.org`); `*` matches any domain.
 */
export function matchDomainKey(domain: string, has: KeyProbe): boolean {
  if (domain === "") return false;
  const d = domain.toLowerCase();
  if (has(d)) return true;
  const dot = d.indexOf(".");
  if (dot > 0 && has(`*${d.slice(dot)}`)) return true;
  return has("*");
}

/**
 * The patterns a probe-only backend is asked for a domain: the domain itself, `*.` and
 * the rest after its first label, and `*` (the forms {@link hostnameMatch} gives
 * meaning to that a key lookup can find).
 */
function domainProbes(domain: string): string[] {
  const dot = domain.indexOf(".");
  return dot > 0 ? [domain, `*${domain.slice(dot)}`, "*"] : [domain, "*"];
}

/**
 * Mail address rules (OpenSMTPD's mailaddr_match(), util.c): entries are `user@domain`,
 * `user` or `@domain`, compared case-insensitively, and the domain of an entry may be a
 * wildcard (`user@*.example.org`, `@*.example.org`); an entry without `+tag` matches
 * tagged addresses, an entry with a tag only itself; the null sender "" matches nothing.
 */
export function matchMailaddrKey(address: string, has: KeyProbe): boolean {
  if (address === "") return false;
  const lower = address.toLowerCase();
  const { local, domain } = splitAddress(lower);
  const bare = untaggedLocal(local);
  if (domain !== "") {
    for (const d of domainProbes(domain)) {
      if (has(`${local}@${d}`)) return true;
      if (bare !== local && has(`${bare}@${d}`)) return true;
      if (has(`@${d}`)) return true;
    }
  }
  if (local === "") return false;
  return has(local) || (bare !== local && has(bare));
}

/** One `user@pattern` or `@pattern` entry whose domain holds a `*`, lower-cased. */
export interface WildcardAddress {
  /** The user part, "" for an `@pattern` entry. */
  readonly local: string;
  readonly pattern: string;
}

/** The wildcard entry of a lower-cased mailaddr key, or undefined for a plain one. */
export function wildcardAddressOf(key: string): WildcardAddress | undefined {
  const { local, domain } = splitAddress(key);
  if (local === key || !domain.includes("*")) return undefined;
  return { local, pattern: domain };
}

/**
 * Whether a lower-cased address (split as `local`, its untagged `bare`, and `domain`)
 * matches one of the wildcard entries: an entry with a tag compares the whole local part.
 */
export function matchWildcardAddresses(
  entries: readonly WildcardAddress[],
  address: { readonly local: string; readonly bare: string; readonly domain: string },
): boolean {
  if (address.domain === "") return false;
  return entries.some((e) =>
    hostnameMatch(address.domain, e.pattern) &&
    (e.local === "" || e.local === address.local || e.local === address.bare)
  );
}
