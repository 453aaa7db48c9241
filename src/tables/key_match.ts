// The table(5) matching rules for domains and mail addresses, written over a key probe so
// every backend (memory, db, sqlite) gives the same answers. Probes receive lowercased keys.

import { splitAddress, untaggedLocal } from "../mail/mod.ts";

/** Answers whether a (lowercased) key is present in a table. */
export type KeyProbe = (key: string) => boolean;

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
 * Mail address rules: entries are `user@domain`, `user` or `@domain`, compared
 * case-insensitively; an entry without `+tag` matches tagged addresses, an entry with a
 * tag only itself; the null sender "" matches nothing.
 */
export function matchMailaddrKey(address: string, has: KeyProbe): boolean {
  if (address === "") return false;
  const lower = address.toLowerCase();
  const { local, domain } = splitAddress(lower);
  const bare = untaggedLocal(local);
  if (domain !== "") {
    if (has(`${local}@${domain}`)) return true;
    if (bare !== local && has(`${bare}@${domain}`)) return true;
    if (has(`@${domain}`)) return true;
  }
  if (local === "") return false;
  return has(local) || (bare !== local && has(bare));
}
