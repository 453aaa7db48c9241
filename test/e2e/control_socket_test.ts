// The control socket as an operator meets it: named where `control socket` says (as root;
// /var/run/smtpd.sock is that name for the system's daemon), reached by smtpctl through
// that name and never through one that leads elsewhere, and its privileged commands
// open to root and to `control group`'s members but refused to other users.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctl, smtpctlOk } from "./_smtpctl.ts";
import { copyModuleCache, skipReason } from "./_privsep.ts";

Deno.test("control socket and group: the name, and who may run privileged commands", async () => {
  const skip = skipReason();
  if (skip) {
    console.log(`skipped: control socket test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-control-" });
  await Deno.chmod(dir, 0o755);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const conf = `${dir}/smtpd.conf`;
  const body = `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail"
match for local action "local"
`;
  // nobody's primary group is nogroup: a member; daemon (uid 1) is not.
  await Deno.writeTextFile(conf, `control socket "${dir}/ctl.sock" group "nogroup"\n${body}`);
  await Deno.chmod(conf, 0o644);
  const daemon = spawnLoggedDaemon(conf);
  let stopped = false;
  try {
    const link = await waitFor(
      "the socket's name",
      () => Deno.readLink(`${dir}/ctl.sock`).catch(() => undefined),
      60_000,
    );
    const socket = `${dir}/queue-offline/smtpd.sock`;
    assertEquals(link, socket);
    // Every user may connect (sendmail submits through it); the commands decide the rest.
    assertEquals(((await Deno.stat(socket)).mode ?? 0) & 0o777, 0o666);
    assertEquals(
      await smtpctlOk(conf, ["show", "status"]),
      "MDA running\nMTA running\nSMTP running\n",
    );

    const cache = `${dir}/deno-cache`;
    await copyModuleCache(cache);
    await new Deno.Command("chmod", { args: ["-R", "a+rwX", cache] }).output();
    const as = (user: string, group: string, args: string[]) =>
      smtpctl(conf, args, {
        prefix: ["setpriv", `--reuid=${user}`, `--regid=${group}`, "--clear-groups", "--"],
        env: { DENO_DIR: cache, HOME: "/tmp", NO_COLOR: "1" },
      });
    const member = await as("nobody", "nogroup", ["show", "queue", "--json"]);
    assertEquals(member.code, 0, member.stderr);
    assertEquals(JSON.parse(member.stdout).envelopes, []);
    const outsider = await as("daemon", "daemon", ["show", "queue"]);
    assertEquals(outsider.code, 1, outsider.stderr);
    assertStringIncludes(outsider.stderr, "need root privileges");
    assertStringIncludes(
      daemon.log(),
      'control: uid 1 refused "show queue": not root nor of the control group',
    );

    // A name that leads to another socket is not followed, whoever made it.
    await Deno.writeTextFile(`${dir}/other.sock`, "not the daemon's");
    await Deno.symlink(`${dir}/other.sock`, `${dir}/fake.sock`);
    const misled = `${dir}/misled.conf`;
    await Deno.writeTextFile(misled, `control socket "${dir}/fake.sock"\n${body}`);
    const run = await smtpctl(misled, ["show", "status"]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stderr, `${dir}/fake.sock is not this queue's socket`);

    daemon.child.kill("SIGTERM");
    await daemon.exited();
    stopped = true;
    assertEquals(await Deno.lstat(`${dir}/ctl.sock`).catch(() => undefined), undefined);
    assertTrue(!daemon.log().includes("cannot name the socket"), daemon.log());
  } finally {
    if (!stopped) {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
    }
    await Deno.remove(dir, { recursive: true });
  }
});
