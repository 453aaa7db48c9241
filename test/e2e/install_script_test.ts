// examples/install.sh as an operator runs it, in a scratch PREFIX: the executable and its
// five links land under PREFIX, a file that is not ours is never replaced without --force,
// and a build that is not a working smtpd (deno itself given as DENORT_BIN) installs nothing.

import { assertEquals, assertStringIncludes } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LINKS = ["sbin/sendmail", "bin/mailq", "sbin/newaliases", "sbin/makemap", "sbin/smtpctl"];

/** A stand-in for the compiled executable: the same program, run from source. */
async function writeExecutable(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

async function install(prefix: string, env: Record<string, string>, args: string[] = []) {
  const out = await new Deno.Command("sh", {
    args: ["examples/install.sh", ...args],
    cwd: ROOT,
    env: { PREFIX: prefix, SYSTEMD_DIR: `${prefix}/no-systemd`, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("install.sh puts smtpd and its five links under PREFIX, and again on a rerun", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-install-" });
  try {
    const smtpd = await writeExecutable(
      dir,
      "built",
      `exec "${Deno.execPath()}" run -A "${ROOT}cli.ts" "$@"`,
    );
    const prefix = `${dir}/prefix`;
    for (let run = 0; run < 2; run++) {
      const result = await install(prefix, { SMTPD_EXECUTABLE: smtpd });
      assertEquals(result.code, 0, result.stderr);
      for (const link of LINKS) {
        assertEquals(await Deno.readLink(`${prefix}/${link}`), `${prefix}/sbin/smtpd`);
      }
    }
    const check = await new Deno.Command(`${prefix}/sbin/smtpd`, {
      args: ["-n", "-f", `${ROOT}examples/smtpd.conf`, "-D", "vmail=1:1:/nonexistent"],
      stdout: "piped",
    }).output();
    assertStringIncludes(new TextDecoder().decode(check.stdout), "configuration OK");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh replaces an existing sendmail that is not its link only with --force", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-install-" });
  try {
    const smtpd = await writeExecutable(
      dir,
      "built",
      `exec "${Deno.execPath()}" run -A "${ROOT}cli.ts" "$@"`,
    );
    const prefix = `${dir}/prefix`;
    await Deno.mkdir(`${prefix}/sbin`, { recursive: true });
    const system = await writeExecutable(`${prefix}/sbin`, "sendmail", "echo the system's");
    const refused = await install(prefix, { SMTPD_EXECUTABLE: smtpd });
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, `${system}`);
    assertStringIncludes(refused.stderr, "nothing installed; run with --force to replace them");
    assertEquals(await Deno.readTextFile(system), "#!/bin/sh\necho the system's\n");
    assertEquals(await exists(`${prefix}/sbin/smtpd`), false);

    const forced = await install(prefix, { SMTPD_EXECUTABLE: smtpd }, ["--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals(await Deno.readLink(system), `${prefix}/sbin/smtpd`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh refuses a build that is deno itself (DENORT_BIN naming deno)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-install-" });
  try {
    const prefix = `${dir}/prefix`;
    const result = await install(prefix, { DENORT_BIN: Deno.execPath() });
    assertEquals(result.code, 1);
    assertStringIncludes(result.stderr, "the built executable is not a working smtpd");
    assertStringIncludes(result.stderr, "DENORT_BIN must name denort, not deno");
    assertEquals(await exists(`${prefix}/sbin/smtpd`), false);
    for (const link of LINKS) assertEquals(await exists(`${prefix}/${link}`), false, link);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
