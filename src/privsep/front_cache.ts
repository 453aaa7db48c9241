// A module cache the unprivileged front can read. Under `deno run` the front is a second
// Deno, and root's cache (~root/.cache/deno) is out of its reach: the npm packages the
// lockfile names are hard-linked (copied across file systems) into a fresh DENO_DIR of
// the front's own, so it starts offline (--cached-only) without re-downloading anything.

import { dirname } from "node:path";

const LOCKFILE = new URL("../../deno.lock", import.meta.url).pathname;
const NPM_REGISTRY = "npm/registry.npmjs.org";

/** Makes a DENO_DIR for the front's account; returns its path. */
export async function prepareFrontCache(owner: { uid: number; gid: number }): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-front-cache-" });
  await Deno.chown(dir, owner.uid, owner.gid);
  const from = `${parentDenoDir()}/${NPM_REGISTRY}`;
  for (const name of await lockedPackages()) {
    await linkTree(`${from}/${name}`, `${dir}/${NPM_REGISTRY}/${name}`).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  return dir;
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

async function linkTree(from: string, to: string): Promise<void> {
  const info = await Deno.lstat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to, { recursive: true, mode: 0o755 });
    for await (const entry of Deno.readDir(from)) {
      await linkTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
    return;
  }
  if (!info.isFile) return;
  await Deno.mkdir(dirname(to), { recursive: true, mode: 0o755 });
  try {
    await Deno.link(from, to);
  } catch {
    await Deno.copyFile(from, to);
    await Deno.chmod(to, 0o644);
  }
}
