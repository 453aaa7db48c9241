// For a test of code that listens on unix sockets at paths it picks at random: the suite's
// `--allow-net` names its few fixed sockets, and Deno grants a unix socket by its exact
// path only. Such a test runs itself again in a `deno test -A` child, filtered to its own
// name, and passes only if that run passed exactly one test.

/**
 * True when this process may listen anywhere (go on with the test); otherwise runs the
 * test named `name` of the file at `url` under `-A` and throws with its output unless it
 * passed, then returns false.
 */
export async function underAllNetPermissions(url: string, name: string): Promise<boolean> {
  if (Deno.permissions.querySync({ name: "net" }).state === "granted") return true;
  return await rerunUnderAll(url, name);
}

// Runs the test `name` of the file at `url` in a `deno test -A` child; throws with its
// output unless exactly that one test passed.
async function rerunUnderAll(url: string, name: string): Promise<false> {
  const file = new URL(url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", `--filter=${name}`, file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success || !/ok \| 1 passed \| 0 failed/.test(text)) {
    throw new Error(`"${name}" under -A:\n${text}`);
  }
  return false;
}

/**
 * For a test that reads /proc, which the runtime grants only with every permission: true
 * when this process can (go on); otherwise runs the test `name` of the file at `url`
 * under `-A` as {@link underAllNetPermissions} does, then returns false.
 */
export async function underProcAccess(url: string, name: string): Promise<boolean> {
  try {
    Deno.readTextFileSync("/proc/self/stat");
    return true;
  } catch {
    return await rerunUnderAll(url, name);
  }
}
