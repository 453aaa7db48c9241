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
const { connect } = await import("node:net");
const [config, queue, outside, socket] = Deno.args;
const connectUnix = (path) =>
  new Promise((resolve, reject) => {
    const s = connect({ path });
    s.on("connect", () => { s.destroy(); resolve(); });
    s.on("error", reject);
  });
console.log(JSON.stringify({
  spawn: await outcome(() => new Deno.Command("/bin/true").output()),
  shadow: await outcome(() => Deno.readTextFile("/etc/shadow")),
  ffi: await outcome(() => Deno.dlopen("libc.so.6", {})),
  env: await outcome(() => Deno.env.get("HOME")),
  writeOutside: await outcome(() => Deno.writeTextFile(outside, "x")),
  readConfig: await outcome(() => Deno.readTextFile(config)),
  writeQueue: await outcome(() => Deno.writeTextFile(queue + "/probe-" + Deno.pid, "x")),
  listen: await outcome(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }).close()),
  lmtpSocket: await outcome(() => connectUnix(socket)),
}));
`;

async function probe(
  dir: string,
  flags: readonly string[],
  as?: { uid: number; gid: number },
): Promise<Record<string, string>> {
  const deno = [Deno.execPath(), "run", "--quiet", ...flags, `${dir}/probe.js`];
  const args = [`${dir}/smtpd.conf`, `${dir}/queue`, `${dir}/outside`, `${dir}/lmtp.sock`];
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
        `action "a" maildir\naction "l" lmtp "${dir}/lmtp.sock"\n` +
        `match for local action "a"\nmatch from any for domain "lmtp.test" action "l"\n`,
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
    // An LMTP server on a unix socket (Python's, as the test process may not listen there).
    const server = new Deno.Command("python3", {
      args: [
        "-c",
        "import socket,os,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\n" +
        "os.chmod(sys.argv[1],0o777)\ns.listen(8)\nprint('ready',flush=True)\n" +
        "while True:\n  c,_=s.accept()\n  c.close()\n",
        `${dir}/lmtp.sock`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const ready = await server.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
    assertEquals(ready.value?.trim(), "ready");
    const allowed = { readConfig: "ok", writeQueue: "ok", listen: "ok", lmtpSocket: "ok" };
    // Under the front's flags, even as root, Deno refuses.
    assertEquals(await probe(dir, flags), { ...refused, ...allowed });
    // As the front runs: _smtpd, through setpriv, same flags.
    assertEquals(await probe(dir, flags, front), { ...refused, ...allowed });
    // And were a flag ever widened, the account itself still cannot read /etc/shadow.
    const shadow = await probe(dir, [...flags, "--allow-read=/etc/shadow"], front);
    assertEquals(shadow.shadow, "PermissionDenied");
    server.kill("SIGTERM");
    await server.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
