// A table whose contents can be replaced while rules hold it: it delegates to the backend
// instance of the last successful load, and a failed reload leaves that instance in place.

import { servesService } from "./services.ts";
import type { Table, TableService } from "./table.ts";
import { errorMessage } from "../mail/mod.ts";
import { trace } from "../log/mod.ts";

/** A reload that failed: the table keeps its previous contents. */
export class TableReloadError extends Error {
  /** The table's name. */
  readonly table: string;
  /** Where the table is loaded from (`inline` for tables written in the configuration). */
  readonly source: string;

  constructor(table: string, source: string, cause: unknown) {
    const why = errorMessage(cause);
    super(`Table "${table}" (${source}) was not reloaded, it keeps its contents: ${why}`, {
      cause,
    });
    this.name = "TableReloadError";
    this.table = table;
    this.source = source;
  }
}

/** Options of {@link ReloadableTable}. */
export interface ReloadableTableOptions {
  /** Loads the table afresh from its source. */
  readonly load: () => Promise<Table>;
  /** Where the table comes from, for messages (a path, or `inline`). */
  readonly source: string;
}

/** A table that can be reloaded in place: holders of the object see the new contents. */
export class ReloadableTable implements Table {
  readonly name: string;
  readonly source: string;
  #current: Table;
  #load: () => Promise<Table>;

  constructor(current: Table, options: ReloadableTableOptions) {
    this.name = current.name;
    this.source = options.source;
    this.#current = current;
    this.#load = options.load;
  }

  /** Loads the table once and wraps it. */
  static async open(name: string, options: ReloadableTableOptions): Promise<ReloadableTable> {
    const table = await options.load();
    if (table.name !== name) throw new Error(`Loaded table "${table.name}" for "${name}"`);
    return new ReloadableTable(table, options);
  }

  get shape(): "list" | "map" {
    return this.#current.shape;
  }

  match(service: TableService, key: string): boolean {
    const found = this.#current.match(service, key);
    trace(
      "lookup",
      () => `table "${this.name}" ${service} "${key}": ${found ? "match" : "no match"}`,
    );
    return found;
  }

  lookup(service: TableService, key: string): string | undefined {
    const value = this.#current.lookup(service, key);
    trace(
      "lookup",
      () =>
        `table "${this.name}" ${service} "${key}": ${value === undefined ? "not found" : "found"}`,
    );
    return value;
  }

  keys(): Iterable<string> {
    return this.#current.keys();
  }

  lineOf(key: string): number | undefined {
    return this.#current.lineOf?.(key);
  }

  serves(service: TableService): boolean {
    return servesService(this.#current, service);
  }

  /**
   * Loads the source again and swaps the new contents in; on failure the old contents
   * stay and a {@link TableReloadError} naming the table and its source is thrown.
   */
  async reload(): Promise<void> {
    let next: Table;
    try {
      next = await this.#load();
    } catch (error) {
      throw new TableReloadError(this.name, this.source, error);
    }
    const previous = this.#current;
    this.#current = next;
    if (previous !== next) previous.close?.();
  }

  close(): void {
    this.#current.close?.();
  }
}
