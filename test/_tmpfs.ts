// A small file system of its own for full-disk tests: a tmpfs mounted (as root) under a
// scratch directory, filled with a file until it refuses, and emptied again.

/** Mounts a tmpfs of `size` (as `mount -o size=`) on `path`; returns why not, if not. */
export async function mountTmpfs(path: string, size: string): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not running as root";
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path],
    stdout: "null",
    stderr: "piped",
  }).output().catch((error) => ({ success: false, stderr: new TextEncoder().encode(`${error}`) }));
  return out.success ? undefined : `cannot mount a tmpfs: ${new TextDecoder().decode(out.stderr)}`;
}

/** Unmounts what {@link mountTmpfs} mounted. */
export async function unmountTmpfs(path: string): Promise<void> {
  await new Deno.Command("umount", { args: [path] }).output();
}

/** Fills a file system: writes to `path` until it refuses (ENOSPC). */
export async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const block = new Uint8Array(64 * 1024);
  try {
    while (true) await file.write(block);
  } catch {
    // ENOSPC: full.
  } finally {
    file.close();
  }
}

/**
 * Leaves exactly `bytes` (a multiple of the 4 KiB page) free on a file system that
 * {@link fill} filled through `path`, by shortening the filler.
 */
export async function leaveFree(path: string, bytes: number): Promise<void> {
  const { size } = await Deno.stat(path);
  await Deno.truncate(path, Math.max(0, size - bytes));
}
