// Tables whose entries are held in memory: inline `{ a, b }` / `{ k = v }` tables and the
// parsed contents of file tables.

import type { Table } from "./table.ts";

/** A table held in memory. */
export class StaticTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  #entries: Map<string, string>;

  constructor(name: string, shape: "list" | "map", entries: Iterable<readonly [string, string]>) {
    this.name = name;
    this.shape = shape;
    this.#entries = new Map(entries);
  }

  /** A list table from its values. */
  static fromList(name: string, values: readonly string[]): StaticTable {
    return new StaticTable(name, "list", values.map((v) => [v, v] as const));
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  keys(): Iterable<string> {
    return this.#entries.keys();
  }
}
