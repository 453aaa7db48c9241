// The on-disk format of `db:` tables, as makemap writes them: an SQLite file with a
// key/value table indexed by key and by lowercased key, parsed network blocks, and markers.

import { DatabaseSync } from "node:sqlite";
import type { TableEntries } from "./file.ts";
import { type NetBlock, parseNetBlock } from "../net/mod.ts";

/** `PRAGMA application_id` of a table db ("SMTT"). */
export const DB_APPLICATION_ID = 0x534d5454;
/** `PRAGMA user_version`: the format version this build reads and writes. */
export const DB_FORMAT_VERSION = 1;

const SCHEMA = `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE entries (key TEXT PRIMARY KEY, lkey TEXT NOT NULL, value TEXT NOT NULL)
    WITHOUT ROWID;
  CREATE INDEX entries_lkey ON entries (lkey);
  CREATE TABLE netblocks (
    family INTEGER NOT NULL, prefix INTEGER NOT NULL, base TEXT NOT NULL,
    PRIMARY KEY (family, prefix, base)
  ) WITHOUT ROWID;
`;

/** What writing a db table did. */
export interface DbWriteResult {
  readonly entries: number;
  /** Why the source's owner could not be carried over (the db keeps the writer's). */
  readonly ownerNotKept?: string;
}

/** The mode and owner a db takes from the file it was built from, as makemap(8) does. */
export interface DbSourceInfo {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** A key written again, ignoring case, and the 1-based line of the repeat when known. */
export interface DuplicateKey {
  readonly key: string;
  readonly line: number | undefined;
}

/**
 * Contents that hold a key twice (keys compare ignoring case, as lookups do): no db is
 * written, as OpenSMTPD's makemap(8) writes none, so a `db:` table never answers
 * otherwise than the `file:` table read from the same text would.
 */
export class DuplicateKeyError extends Error {
  readonly duplicates: readonly DuplicateKey[];

  constructor(duplicates: readonly DuplicateKey[]) {
    super(`duplicate entry for ${duplicates.map((d) => `"${d.key}"`).join(", ")}`);
    this.name = "DuplicateKeyError";
    this.duplicates = duplicates;
  }
}

/**
 * The text under which a block's base is stored: fixed-width hex, so equal blocks have
 * equal keys whatever their written form.
 */
export function blockBaseKey(block: NetBlock): string {
  return block.base.toString(16).padStart(block.family === 4 ? 8 : 32, "0");
}

/**
 * Writes a table db at `path` atomically: it is built in a temporary file beside it,
 * synced, and renamed over `path`, so a reader never sees half a table. Throws a
 * {@link DuplicateKeyError}, leaving `path` as it was, when a key is there twice.
 * With `source`, the db gets that file's mode and owner (a root-only credentials file
 * makes a root-only db); without, mode 0644 less the umask.
 */
export async function writeDbTable(
  path: string,
  contents: TableEntries,
  source?: DbSourceInfo,
): Promise<DbWriteResult> {
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  const dir = slash === -1 ? "." : path.slice(0, slash) || "/";
  const duplicates = duplicateKeys(contents);
  if (duplicates.length > 0) throw new DuplicateKeyError(duplicates);
  const temp = `${dir}/.${base}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    // Owner-only until it has its source's mode: no other user opens it meanwhile. Without
    // a source, 0644 less the umask, as SQLite would create it.
    const mode = source ? 0o600 : 0o644;
    (await Deno.open(temp, { write: true, createNew: true, mode })).close();
    const result = buildDb(temp, contents);
    let ownerNotKept: string | undefined;
    if (source) {
      ownerNotKept = await chownOrReason(temp, source);
      await Deno.chmod(temp, source.mode & 0o7777);
    }
    using file = await Deno.open(temp, { read: true, write: true });
    await file.sync();
    await Deno.rename(temp, path);
    return ownerNotKept === undefined ? result : { ...result, ownerNotKept };
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

function buildDb(path: string, contents: TableEntries): DbWriteResult {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
    db.exec(`PRAGMA application_id = ${DB_APPLICATION_ID};`);
    db.exec(`PRAGMA user_version = ${DB_FORMAT_VERSION};`);
    db.exec(SCHEMA);
    const meta = db.prepare("INSERT INTO meta (name, value) VALUES (?, ?)");
    const entry = db.prepare("INSERT INTO entries (key, lkey, value) VALUES (?, ?, ?)");
    const block = db.prepare(
      "INSERT OR IGNORE INTO netblocks (family, prefix, base) VALUES (?, ?, ?)",
    );
    db.exec("BEGIN");
    meta.run("format", String(DB_FORMAT_VERSION));
    meta.run("shape", contents.shape);
    for (const [key, value] of contents.entries) {
      entry.run(key, key.toLowerCase(), value);
      const parsed = parseNetBlock(key);
      if (parsed) block.run(parsed.family, parsed.prefix, blockBaseKey(parsed));
    }
    meta.run("entries", String(contents.entries.length));
    db.exec("COMMIT");
    return { entries: contents.entries.length };
  } finally {
    db.close();
  }
}

// Every entry whose key, lowercased, an earlier entry already has.
function duplicateKeys(contents: TableEntries): DuplicateKey[] {
  const seen = new Set<string>();
  const duplicates: DuplicateKey[] = [];
  contents.entries.forEach(([key], i) => {
    const lower = key.toLowerCase();
    if (seen.has(lower)) duplicates.push({ key, line: contents.lines?.[i] });
    seen.add(lower);
  });
  return duplicates;
}

// Only root may give a file away; anyone else keeps it and hears why.
async function chownOrReason(path: string, source: DbSourceInfo): Promise<string | undefined> {
  try {
    const own = await Deno.stat(path);
    if (own.uid === source.uid && own.gid === source.gid) return undefined;
    await Deno.chown(path, source.uid, source.gid);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
