// The module cache (DENO_DIR) the `mailbox.writer` children load their transpiled code
// from under `deno run`: one per daemon process, made and filled by root before the first
// writer starts, root's and mode 0755, so no user whose writer reads it can plant code
// there (a writer may hold the mail spool's group). Removed when the process exits.

let made: string | undefined;

/**
 * The writers' module cache, made on the first call: `deno cache` of `main` (the writer's
 * entry point) by this process, every entry readable by all and writable by root alone.
 * A writer that finds a module changed since compiles it in memory; it cannot write here.
 */
export function writerModuleCache(main: string): string {
  if (made !== undefined) return made;
  const dir = Deno.makeTempDirSync({ prefix: "smtpd-mailbox-writers-" });
  try {
    const out = new Deno.Command(Deno.execPath(), {
      args: ["cache", "--quiet", "--no-config", main],
      cwd: "/",
      clearEnv: true,
      env: { DENO_DIR: dir, PATH: "/usr/bin:/bin", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (!out.success) {
      throw new Error(`deno cache ${main}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    // Under a umask of 077 the writers could not read what root cached.
    openToReaders(dir);
  } catch (error) {
    Deno.removeSync(dir, { recursive: true });
    throw error;
  }
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Gone already.
    }
  });
  made = dir;
  return dir;
}

// Directories 0755, files 0644, all root's: readable by every writer, writable by none.
function openToReaders(path: string): void {
  const info = Deno.lstatSync(path);
  if (info.isSymlink) return Deno.removeSync(path);
  Deno.chmodSync(path, info.isDirectory ? 0o755 : 0o644);
  if (!info.isDirectory) return;
  for (const entry of Deno.readDirSync(path)) openToReaders(`${path}/${entry.name}`);
}
