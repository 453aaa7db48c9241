// The `db:` backend: tables makemap wrote (db_format.ts), read through prepared statements
// on a read-only connection. Netaddr lookups probe the stored blocks once per prefix
// length present in the file, so no lookup scans the table.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { blockBaseKey, DB_APPLICATION_ID, DB_FORMAT_VERSION } from "./db_format.ts";
import { type KeyProbe, matchDomainKey, matchMailaddrKey } from "./key_match.ts";
import { enclosingBlock, parseIp } from "../net/mod.ts";
import type { Table, TableService } from "./table.ts";
import { toTableLoadError } from "./table_error.ts";

/** A table read from a makemap-built SQLite file. */
export class DbTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  readonly path: string;
  #db: DatabaseSync;
  #byKey: StatementSync;
  #byLowerKey: StatementSync;
  #hasLowerKey: StatementSync;
  #hasBlock: StatementSync;
  #prefixes: { readonly 4: readonly number[]; readonly 6: readonly number[] };
  #has: KeyProbe;

  private constructor(name: string, path: string, db: DatabaseSync) {
    this.name = name;
    this.path = path;
    this.#db = db;
    this.shape = readShape(db);
    this.#byKey = db.prepare("SELECT value FROM entries WHERE key = ?");
    this.#byLowerKey = db.prepare("SELECT value FROM entries WHERE lkey = ? LIMIT 1");
    this.#hasLowerKey = db.prepare("SELECT 1 FROM entries WHERE lkey = ? LIMIT 1");
    this.#hasBlock = db.prepare(
      "SELECT 1 FROM netblocks WHERE family = ? AND prefix = ? AND base = ?",
    );
    this.#prefixes = readPrefixes(db);
    this.#has = (key) => this.#hasLowerKey.get(key) !== undefined;
  }

  /**
   * Opens a table db read-only. The error names the table and the path when the file is
   * missing, unreadable, or not a table db of a format this build reads.
   */
  static open(name: string, path: string): DbTable {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { readOnly: true });
      // The file is only ever replaced by rename, never written in place: holding the
      // shared lock and mapping the file spares a lock and a cache check per lookup.
      db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA mmap_size = 268435456;");
      db.exec("PRAGMA cache_size = -16384;");
      checkFormat(db);
      return new DbTable(name, path, db);
    } catch (error) {
      db?.close();
      throw toTableLoadError({ table: name, file: path }, error);
    }
  }

  match(service: TableService, key: string): boolean {
    switch (service) {
      case "domain":
        return matchDomainKey(key, this.#has);
      case "mailaddr":
        return matchMailaddrKey(key, this.#has);
      case "netaddr":
      case "source":
        return this.#matchNetaddr(key);
      default:
        return this.#has(key.toLowerCase());
    }
  }

  lookup(_service: TableService, key: string): string | undefined {
    const row = this.#byKey.get(key) ?? this.#byLowerKey.get(key.toLowerCase());
    return row === undefined ? undefined : String(row.value);
  }

  *keys(): Iterable<string> {
    const all = this.#db.prepare("SELECT key FROM entries ORDER BY key");
    for (const row of all.iterate()) yield String(row.key);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #matchNetaddr(address: string): boolean {
    const ip = parseIp(address);
    if (!ip) return false;
    for (const prefix of this.#prefixes[ip.family]) {
      const block = enclosingBlock(ip, prefix);
      if (this.#hasBlock.get(ip.family, prefix, blockBaseKey(block)) !== undefined) return true;
    }
    return false;
  }
}

function checkFormat(db: DatabaseSync): void {
  // A damaged file would fail lookup by lookup; refused at load, it keeps the old table.
  // (Checking the b-trees of a million-entry table takes about 0.2 s.)
  const problem = db.prepare("PRAGMA quick_check(1)").get();
  const verdict = String(Object.values(problem ?? {})[0]);
  if (verdict !== "ok") throw new Error(`the table db is damaged: ${verdict}`);
  const pragma = (name: string) =>
    Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0]);
  if (pragma("application_id") !== DB_APPLICATION_ID) {
    throw new Error("not a table db written by makemap");
  }
  const version = pragma("user_version");
  if (version !== DB_FORMAT_VERSION) {
    throw new Error(`table db format ${version} is not supported (expected ${DB_FORMAT_VERSION})`);
  }
}

function readShape(db: DatabaseSync): "list" | "map" {
  const row = db.prepare("SELECT value FROM meta WHERE name = 'shape'").get();
  return row?.value === "list" ? "list" : "map";
}

// The prefix lengths present, longest first (a more specific block answers first).
function readPrefixes(db: DatabaseSync): { 4: number[]; 6: number[] } {
  const out: { 4: number[]; 6: number[] } = { 4: [], 6: [] };
  const rows = db.prepare(
    "SELECT DISTINCT family, prefix FROM netblocks ORDER BY family, prefix DESC",
  ).all();
  for (const row of rows) {
    const family = Number(row.family) === 4 ? 4 : 6;
    out[family].push(Number(row.prefix));
  }
  return out;
}
