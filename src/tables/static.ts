// Tables whose entries are held in memory: inline `{ a, b }` / `{ k = v }` tables and the
// parsed contents of file tables. Per-service indexes are built on first use.

import { splitAddress, untaggedLocal } from "../mail/mod.ts";
import { parseNetBlock } from "../net/mod.ts";
import {
  hostnameMatch,
  matchWildcardAddresses,
  type WildcardAddress,
  wildcardAddressOf,
} from "./key_match.ts";
import { NetSet } from "./net_set.ts";
import type { Table, TableService } from "./table.ts";

/** Options of {@link StaticTable}. */
export interface StaticTableOptions {
  /** The line of the source file each key was read from, for messages about a key. */
  readonly lines?: ReadonlyMap<string, number> | undefined;
}

/** A table held in memory. */
export class StaticTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  #entries: Map<string, string>;
  /** Values by lowercased key. */
  #lower: Map<string, string>;
  #domains?: { exact: Set<string>; wildcard: Set<string>; globs: string[]; any: boolean };
  #nets?: NetSet;
  #mail?: MailaddrIndex;
  #lines: ReadonlyMap<string, number> | undefined;

  constructor(
    name: string,
    shape: "list" | "map",
    entries: Iterable<readonly [string, string]>,
    options: StaticTableOptions = {},
  ) {
    this.name = name;
    this.shape = shape;
    const written = [...entries];
    this.#entries = new Map(written);
    // As table_static.c, which lowercases each key as it adds it: of keys equal ignoring
    // case the last written answers, whichever spelling is asked.
    this.#lower = new Map(written.map(([k, v]) => [k.toLowerCase(), v]));
    this.#lines = options.lines;
  }

  /** A list table from its values. */
  static fromList(name: string, values: readonly string[]): StaticTable {
    return new StaticTable(name, "list", values.map((v) => [v, v] as const));
  }

  match(service: TableService, key: string): boolean {
    switch (service) {
      case "domain":
        return this.#matchDomain(key);
      case "netaddr":
      case "source":
        return this.#matchNetaddr(key);
      case "mailaddr":
        return this.#matchMailaddr(key);
      default:
        return this.#lower.has(key.toLowerCase());
    }
  }

  lookup(_service: TableService, key: string): string | undefined {
    return this.#lower.get(key.toLowerCase());
  }

  keys(): Iterable<string> {
    return this.#entries.keys();
  }

  lineOf(key: string): number | undefined {
    return this.#lines?.get(key);
  }

  // Domains compare case-insensitively; `*.example.org` matches exactly one more label;
  // other patterns with a `*` follow hostnameMatch().
  #matchDomain(domain: string): boolean {
    if (!this.#domains) {
      const exact = new Set<string>();
      const wildcard = new Set<string>();
      const globs: string[] = [];
      let any = false;
      for (const key of this.#entries.keys()) {
        const k = key.toLowerCase();
        if (k === "*") any = true;
        else if (k.startsWith("*.") && !k.slice(2).includes("*")) wildcard.add(k.slice(2));
        else if (k.includes("*")) globs.push(k);
        else exact.add(k);
      }
      this.#domains = { exact, wildcard, globs, any };
    }
    const { exact, wildcard, globs, any } = this.#domains;
    if (domain === "") return false;
    if (any) return true;
    const d = domain.toLowerCase();
    if (exact.has(d)) return true;
    const dot = d.indexOf(".");
    if (wildcard.size > 0 && dot > 0 && wildcard.has(d.slice(dot + 1))) return true;
    return globs.some((g) => hostnameMatch(d, g));
  }

  #matchNetaddr(address: string): boolean {
    this.#nets ??= new NetSet(
      [...this.#entries.keys()].map(parseNetBlock).filter((b) => b !== undefined),
    );
    return this.#nets.has(address);
  }

  // table(5) mailaddr entries, by the rules of key_match.ts's matchMailaddrKey(), over an
  // index that needs no string building per lookup.
  #matchMailaddr(address: string): boolean {
    if (address === "") return false;
    const { byDomain, domains, locals, wildcards } = this.#mail ??= indexMailaddrs(
      this.#entries.keys(),
    );
    const lower = address.toLowerCase();
    const { local, domain } = splitAddress(lower);
    const bare = untaggedLocal(local);
    if (domain !== "") {
      const users = byDomain.get(domain);
      if (users && (users.has(local) || users.has(bare))) return true;
      if (domains.has(domain)) return true;
      if (wildcards.length > 0 && matchWildcardAddresses(wildcards, { local, bare, domain })) {
        return true;
      }
    }
    return local !== "" && (locals.has(local) || locals.has(bare));
  }
}

interface MailaddrIndex {
  /** `user@domain` entries: users by domain. */
  readonly byDomain: Map<string, Set<string>>;
  /** `@domain` entries. */
  readonly domains: Set<string>;
  /** `user` entries. */
  readonly locals: Set<string>;
  /** Entries whose domain holds a `*` (`user@*.example.org`, `@*.example.org`). */
  readonly wildcards: WildcardAddress[];
}

function indexMailaddrs(keys: Iterable<string>): MailaddrIndex {
  const index: MailaddrIndex = {
    byDomain: new Map(),
    domains: new Set(),
    locals: new Set(),
    wildcards: [],
  };
  for (const key of keys) {
    const k = key.toLowerCase();
    const { local, domain } = splitAddress(k);
    const wildcard = wildcardAddressOf(k);
    if (wildcard) index.wildcards.push(wildcard);
    else if (local === k) index.locals.add(k);
    else if (local === "") index.domains.add(domain);
    else {
      let users = index.byDomain.get(domain);
      if (!users) index.byDomain.set(domain, users = new Set());
      users.add(local);
    }
  }
  return index;
}
