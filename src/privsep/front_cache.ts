// A module cache the unprivileged front can read and write. Under `deno run` the front is a
// second Deno, and root's cache (~root/.cache/deno) is out of its reach: the npm packages
// the lockfile names are hard-linked (copied across file systems) into a DENO_DIR of the
// front's own, so it starts offline (--cached-only). That cache lives in the queue
// directory and is kept from one start to the next: what Deno compiled on the first
// start (transpiled modules, V8 code, module graphs) makes the next start fast. A cache
// made anew starts from the parent's own: the checkout's transpiled modules are linked and
// the runtime's caches copied, so even the first start on a queue compiles little.

import { dirname } from "node:path";
import { backup, DatabaseSync } from "node:sqlite";

const LOCKFILE = new URL("../../deno.lock", import.meta.url).pathname;
const NPM_REGISTRY = "npm/registry.npmjs.org";
/** The runtime's own caches: compiled code, module dependencies, CommonJS exports. */
const RUNTIME_CACHES = ["v8_code_cache_v2", "dep_analysis_cache_v2", "node_analysis_cache_v2"];
const CHECKOUT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The front's module cache's name in the queue directory (a directory, so kept as it is). */
export const FRONT_CACHE_NAME = "front-cache";

/**
 * The file in the cache saying which packages were linked into it, from where: when it
 * reads the same, the links are there and the start skips linking them.
 */
const LINKED_STAMP = "linked-packages";

/**
 * Makes the front's module cache in the queue directory, or reuses the one an earlier
 * start made; returns its path. A cache of another owner (the front's user changed) is
 * made anew: the front could not write to it.
 * `root` is the runtime cache it starts from (this runtime's).
 */
export async function prepareFrontCache(
  queueDir: string,
  owner: { uid: number; gid: number },
  root: string = parentDenoDir(),
): Promise<string> {
  const dir = `${queueDir}/${FRONT_CACHE_NAME}`;
  const info = await Deno.lstat(dir).catch(() => undefined);
  if (info && (!info.isDirectory || info.uid !== owner.uid || info.gid !== owner.gid)) {
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chown(dir, owner.uid, owner.gid);
  const from = `${root}/${NPM_REGISTRY}`;
  const packages = [...await lockedPackages()].sort();
  const stamp = JSON.stringify({ from, packages });
  const stampPath = `${dir}/${LINKED_STAMP}`;
  linkGen(root, dir);
  if (await Deno.readTextFile(stampPath).catch(() => "") !== stamp) {
    for (const name of RUNTIME_CACHES) {
      await copyDatabase(`${root}/${name}`, `${dir}/${name}`, owner);
    }
    for (const name of packages) {
      try {
        linkTree(`${from}/${name}`, `${dir}/${NPM_REGISTRY}/${name}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    await Deno.writeTextFile(stampPath, stamp, { mode: 0o644 });
    await Deno.chown(stampPath, owner.uid, owner.gid);
  }
  // Copies made now, and caches an earlier start left.
  giveLogFiles(dir, owner);
  return dir;
}

// The checkout's modules as the parent's runtime transpiled them; those already linked by
// an earlier start are left, new ones (an upgrade) are added.
function linkGen(root: string, dir: string): void {
  try {
    linkTree(`${root}/gen/file${CHECKOUT}`, `${dir}/gen/file${CHECKOUT}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

// A consistent copy (SQLite's online backup: VACUUM INTO needs ATTACH, which the runtime
// refuses without --allow-ffi) of a database the parent's runtime may be writing, when the
// cache has none yet; the front owns it, as it adds what it compiles. Without it the front
// only starts slower.
async function copyDatabase(
  from: string,
  to: string,
  owner: { uid: number; gid: number },
): Promise<void> {
  try {
    Deno.lstatSync(to);
    return;
  } catch {
    // Not there yet.
  }
  try {
    const db = new DatabaseSync(from, { readOnly: true });
    try {
      await backup(db, to);
    } finally {
      db.close();
    }
    // The runtime remakes its cache now and then: a copy taken meanwhile holds nothing.
    if (!hasTables(to)) throw new Error("an empty copy");
    Deno.chownSync(to, owner.uid, owner.gid);
  } catch {
    await Deno.remove(to).catch(() => {});
  }
}

// The caches are SQLite files in WAL mode: reading a copy here (hasTables) leaves its
// -wal and -shm files, root's. The front, unable to open them for writing, then read its
// code cache read-only and kept none of what it compiled: every start compiled again.
// They are the front's, as the file is (not removed: a -wal may hold the front's writes).
function giveLogFiles(dir: string, owner: { uid: number; gid: number }): void {
  for (const name of RUNTIME_CACHES) {
    for (const suffix of ["-wal", "-shm"]) {
      const path = `${dir}/${name}${suffix}`;
      try {
        const info = Deno.lstatSync(path);
        if (info.isFile && (info.uid !== owner.uid || info.gid !== owner.gid)) {
          Deno.chownSync(path, owner.uid, owner.gid);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }
}

function hasTables(path: string): boolean {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get();
    return Number((row as { n: number }).n) > 0;
  } finally {
    db.close();
  }
}

// DENO_DIR, else Deno's default place for this user.
function parentDenoDir(): string {
  const set = Deno.env.get("DENO_DIR");
  if (set) return set;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return `${xdg || `${Deno.env.get("HOME") ?? "/root"}/.cache`}/deno`;
}

// Package names of the lockfile's npm section: `name@version[_peer…]`, names maybe scoped.
async function lockedPackages(): Promise<Set<string>> {
  let lock: { npm?: Record<string, unknown> };
  try {
    lock = JSON.parse(await Deno.readTextFile(LOCKFILE));
  } catch {
    return new Set();
  }
  const names = new Set<string>();
  for (const key of Object.keys(lock.npm ?? {})) {
    const at = key.indexOf("@", key.startsWith("@") ? 1 : 0);
    if (at > 0) names.add(key.slice(0, at));
  }
  return names;
}

// Synchronous: thousands of small files, where an await per call costs more than the call.
// A file linked by an earlier start is left as it is. Each directory is made once, as it
// is entered: a recursive mkdir per file cost the parent ~0.6 s of a start.
function linkTree(from: string, to: string): void {
  Deno.mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
  linkEntry(from, to, Deno.lstatSync(from));
}

// `info`: what lstat, or the directory listing, says the entry is (symbolic links are skipped).
function linkEntry(
  from: string,
  to: string,
  info: { readonly isFile: boolean; readonly isDirectory: boolean },
): void {
  if (info.isDirectory) {
    try {
      Deno.mkdirSync(to, { mode: 0o755 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    for (const entry of Deno.readDirSync(from)) {
      linkEntry(`${from}/${entry.name}`, `${to}/${entry.name}`, entry);
    }
    return;
  }
  if (!info.isFile) return;
  try {
    Deno.linkSync(from, to);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    Deno.copyFileSync(from, to);
    Deno.chmodSync(to, 0o644);
  }
}
