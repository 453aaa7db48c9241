// What the SMTP front cannot do, proven from inside its permission set: a probe runs under
// exactly the flags the parent starts the front with (frontPermissionFlagsFor), as _smtpd
// through setpriv like the front, and tries to spawn a process, read /etc/shadow, load a
// library, read the environment and write outside the queue. It can still do its work.

import { loadConfigWithDiagnostics } from "../../src/config/mod.ts";
import { findSetpriv, frontPermissionFlagsFor } from "../../src/privsep/mod.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { accountIds, ensureFrontUser, skipReason } from "./_privsep.ts";

const PROBE = `
const outcome = async (attempt) => {
  try {
    await attempt();
    return "ok";
  } catch (error) {
    return error?.name ?? String(error);
  }
};
const [config, queue, outside] = Deno.args;
console.log(JSON.stringify({
  spawn: await outcome(() => new Deno.Command("/bin/true").output()),
  shadow: await outcome(() => Deno.readTextFile("/etc/shadow")),
  ffi: await outcome(() => Deno.dlopen("libc.so.6", {})),
  env: await outcome(() => Deno.env.get("HOME")),
  writeOutside: await outcome(() => Deno.writeTextFile(outside, "x")),
  readConfig: await outcome(() => Deno.readTextFile(config)),
  writeQueue: await outcome(() => Deno.writeTextFile(queue + "/probe-" + Deno.pid, "x")),
  listen: await outcome(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }).close()),
}));
`;

async function probe(
  dir: string,
  flags: readonly string[],
  as?: { uid: number; gid: number },
): Promise<Record<string, string>> {
  const deno = [Deno.execPath(), "run", "--quiet", ...flags, `${dir}/probe.js`];
  const args = [`${dir}/smtpd.conf`, `${dir}/queue`, `${dir}/outside`];
  const [program, ...rest] = as
    ? [
      findSetpriv()!,
      `--reuid=${as.uid}`,
      `--regid=${as.gid}`,
      "--init-groups",
      "--inh-caps=+net_bind_service",
      "--ambient-caps=+net_bind_service",
      "--",
      ...deno,
      ...args,
    ]
    : [...deno, ...args];
  const output = await new Deno.Command(program!, {
    args: rest,
    clearEnv: true,
    env: { DENO_DIR: `${dir}/cache`, HOME: "/nonexistent", NO_COLOR: "1" },
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assertTrue(output.success, `probe failed: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(text);
}

Deno.test("the SMTP front's permissions refuse spawning, /etc/shadow, FFI and env; its work still runs", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: front permission test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-front-perms-" });
  try {
    await Deno.chmod(dir, 0o755);
    const front = await accountIds("_smtpd");
    await Deno.mkdir(`${dir}/queue`, { mode: 0o700 });
    await Deno.chown(`${dir}/queue`, front.uid, front.gid);
    await Deno.mkdir(`${dir}/cache`);
    await Deno.chown(`${dir}/cache`, front.uid, front.gid);
    await Deno.writeTextFile(`${dir}/probe.js`, PROBE, { mode: 0o644 });
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"\nlisten on 127.0.0.1 port 0\n` +
        `action "a" maildir\nmatch for local action "a"\n`,
      { mode: 0o644 },
    );
    const loaded = await loadConfigWithDiagnostics(`${dir}/smtpd.conf`);
    const flags = frontPermissionFlagsFor(loaded.config, loaded.sources.keys());
    assertTrue(!flags.some((f) => /^--allow-(run|ffi|all)|^-A$/.test(f)), flags.join(" "));

    const refused = {
      spawn: "NotCapable",
      shadow: "NotCapable",
      ffi: "NotCapable",
      env: "NotCapable",
      writeOutside: "NotCapable",
    };
    const allowed = { readConfig: "ok", writeQueue: "ok", listen: "ok" };
    // Under the front's flags, even as root, Deno refuses.
    assertEquals(await probe(dir, flags), { ...refused, ...allowed });
    // As the front runs: _smtpd, through setpriv, same flags.
    assertEquals(await probe(dir, flags, front), { ...refused, ...allowed });
    // And were a flag ever widened, the account itself still cannot read /etc/shadow.
    const shadow = await probe(dir, [...flags, "--allow-read=/etc/shadow"], front);
    assertEquals(shadow.shadow, "PermissionDenied");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
