// Key matchers built once from a table's contents, one per service: domains (with
// `*.` wildcards), mail addresses (table(5) mailaddr forms), networks, plain strings.

import type { Table } from "../tables/mod.ts";
import { blockContains, type NetBlock, parseIp, parseNetBlock } from "./netaddr.ts";

/** A compiled membership test. */
export type KeyMatcher = (key: string) => boolean;

/** Domains compare case-insensitively; `*.example.org` matches exactly one more label. */
export function domainMatcher(table: Table): KeyMatcher {
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  for (const key of table.keys()) {
    const k = key.toLowerCase();
    if (k === "*") wildcard.add("");
    else if (k.startsWith("*.")) wildcard.add(k.slice(2));
    else exact.add(k);
  }
  const any = wildcard.has("");
  return (domain) => {
    if (any) return true;
    const d = domain.toLowerCase();
    if (exact.has(d)) return true;
    if (wildcard.size === 0) return false;
    const dot = d.indexOf(".");
    return dot > 0 && wildcard.has(d.slice(dot + 1));
  };
}

/** Splits `local@domain`; an address without `@` is all local part. */
export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  if (at === -1) return { local: address, domain: "" };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * Mail addresses as table(5) mailaddr entries: `user@domain`, `user`, `@domain`.
 * An entry without `+tag` also matches tagged addresses; the null sender matches nothing.
 */
export function mailaddrMatcher(table: Table, subAddrDelim: string): KeyMatcher {
  const entries = new Set<string>();
  for (const key of table.keys()) entries.add(key.toLowerCase());
  return (address) => {
    if (address === "") return false;
    const { local, domain } = splitAddress(address.toLowerCase());
    const delim = local.indexOf(subAddrDelim);
    const bare = delim > 0 ? local.slice(0, delim) : local;
    if (domain !== "" && (entries.has(`${local}@${domain}`) || entries.has(`${bare}@${domain}`))) {
      return true;
    }
    if (domain !== "" && entries.has(`@${domain}`)) return true;
    return entries.has(local) || entries.has(bare);
  };
}

/** Networks: addresses and CIDR blocks, IPv4 and IPv6. */
export function netaddrMatcher(table: Table): KeyMatcher {
  const blocks: NetBlock[] = [];
  for (const key of table.keys()) {
    const block = parseNetBlock(key);
    if (block) blocks.push(block);
  }
  return (address) => {
    const ip = parseIp(address);
    if (!ip) return false;
    return blocks.some((b) => blockContains(b, ip));
  };
}

/** Plain strings (tags, user names), compared case-insensitively. */
export function stringMatcher(table: Table): KeyMatcher {
  const entries = new Set<string>();
  for (const key of table.keys()) entries.add(key.toLowerCase());
  return (key) => entries.has(key.toLowerCase());
}

/** Regular expressions (the `regex` keyword): unanchored, `(?i)` prefix for case-insensitive. */
export function regexMatcher(table: Table): KeyMatcher {
  const patterns: RegExp[] = [];
  for (const key of table.keys()) {
    patterns.push(key.startsWith("(?i)") ? new RegExp(key.slice(4), "i") : new RegExp(key));
  }
  return (key) => patterns.some((p) => p.test(key));
}
