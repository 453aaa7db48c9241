// Tables whose entries are held in memory: inline `{ a, b }` / `{ k = v }` tables and the
// parsed contents of file tables. Per-service indexes are built on first use.

import { blockContains, type NetBlock, parseIp, parseNetBlock } from "./netaddr.ts";
import { type KeyProbe, matchMailaddrKey } from "./key_match.ts";
import type { Table, TableService } from "./table.ts";

/** A table held in memory. */
export class StaticTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  #entries: Map<string, string>;
  #lower?: Map<string, string>;
  #domains?: { exact: Set<string>; wildcard: Set<string>; any: boolean };
  #blocks?: NetBlock[];
  #hasLowered?: KeyProbe;

  constructor(name: string, shape: "list" | "map", entries: Iterable<readonly [string, string]>) {
    this.name = name;
    this.shape = shape;
    this.#entries = new Map(entries);
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
        return this.#lowered().has(key.toLowerCase());
    }
  }

  lookup(_service: TableService, key: string): string | undefined {
    return this.#entries.get(key) ?? this.#lowered().get(key.toLowerCase());
  }

  keys(): Iterable<string> {
    return this.#entries.keys();
  }

  #lowered(): Map<string, string> {
    if (!this.#lower) {
      this.#lower = new Map();
      for (const [k, v] of this.#entries) this.#lower.set(k.toLowerCase(), v);
    }
    return this.#lower;
  }

  // Domains compare case-insensitively; `*.example.org` matches exactly one more label.
  #matchDomain(domain: string): boolean {
    if (!this.#domains) {
      const exact = new Set<string>();
      const wildcard = new Set<string>();
      let any = false;
      for (const key of this.#entries.keys()) {
        const k = key.toLowerCase();
        if (k === "*") any = true;
        else if (k.startsWith("*.")) wildcard.add(k.slice(2));
        else exact.add(k);
      }
      this.#domains = { exact, wildcard, any };
    }
    const { exact, wildcard, any } = this.#domains;
    if (domain === "") return false;
    if (any) return true;
    const d = domain.toLowerCase();
    if (exact.has(d)) return true;
    if (wildcard.size === 0) return false;
    const dot = d.indexOf(".");
    return dot > 0 && wildcard.has(d.slice(dot + 1));
  }

  #matchNetaddr(address: string): boolean {
    this.#blocks ??= [...this.#entries.keys()].map(parseNetBlock).filter((b) => b !== undefined);
    const ip = parseIp(address);
    return ip !== undefined && this.#blocks.some((b) => blockContains(b, ip));
  }

  // table(5) mailaddr entries, by the rules every backend shares.
  #matchMailaddr(address: string): boolean {
    const entries = this.#lowered();
    this.#hasLowered ??= (key) => entries.has(key);
    return matchMailaddrKey(address, this.#hasLowered);
  }
}
