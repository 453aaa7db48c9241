// The tables of a running configuration, each reloadable in place: what the control
// socket's `update table NAME` and SIGHUP call. A failed reload keeps the old contents.

import type { Config } from "../config/mod.ts";
import { openTable, type OpenTablesOptions, regexTableNames, tableSource } from "./registry.ts";
import { ReloadableTable, TableReloadError } from "./reloadable.ts";
import type { Table } from "./table.ts";

/** Every declared table of a configuration, by name, reloadable without a restart. */
export class TableSet {
  #tables: Map<string, ReloadableTable>;

  private constructor(tables: Map<string, ReloadableTable>) {
    this.#tables = tables;
  }

  /**
   * Opens every table the configuration declares, checking the patterns of the tables
   * `match … regex` criteria use, at start and at every reload. The error is a
   * `TableLoadError` naming the table, the file and the line.
   */
  static async open(
    config: Pick<Config, "tables"> & Partial<Pick<Config, "matches">>,
    options: OpenTablesOptions,
  ): Promise<TableSet> {
    const tables = new Map<string, ReloadableTable>();
    const regexTables = regexTableNames(config);
    try {
      for (const decl of config.tables) {
        const regex = regexTables.has(decl.name);
        const load = () => openTable(decl, options.baseDir, { regex, log: options.log });
        const source = tableSource(decl, options.baseDir);
        tables.set(decl.name, await ReloadableTable.open(decl.name, { load, source }));
      }
    } catch (error) {
      for (const table of tables.values()) table.close();
      throw error;
    }
    return new TableSet(tables);
  }

  /** The tables by name, as the rules compiler takes them. */
  get tables(): ReadonlyMap<string, Table> {
    return this.#tables;
  }

  /** One table by name. */
  get(name: string): Table | undefined {
    return this.#tables.get(name);
  }

  /**
   * Reloads one table from its source (`update table NAME`). Throws a
   * {@link TableReloadError} naming the table and its source when that fails, or when no
   * table of that name is declared; the table then keeps its previous contents.
   */
  async reload(name: string): Promise<void> {
    const table = this.#tables.get(name);
    if (!table) {
      throw new TableReloadError(name, "undeclared", new Error("no table of that name"));
    }
    await table.reload();
  }

  /** Reloads every table (SIGHUP); resolves to the failures, each table kept as it was. */
  async reloadAll(): Promise<TableReloadError[]> {
    const failures: TableReloadError[] = [];
    for (const table of this.#tables.values()) {
      try {
        await table.reload();
      } catch (error) {
        if (!(error instanceof TableReloadError)) throw error;
        failures.push(error);
      }
    }
    return failures;
  }

  /** Closes every table's files. */
  close(): void {
    for (const table of this.#tables.values()) table.close();
  }
}
