// The socket's other name (OpenSMTPD's /var/run/smtpd.sock for the system's daemon, or
// `control socket`), the link that gives it, and who may run privileged commands.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import {
  controlSocketName,
  isGroupMember,
  nameControlSocket,
  privilegedPeers,
  SYSTEM_SOCKET_PATH,
} from "./control_access.ts";

Deno.test("controlSocketName() is /var/run/smtpd.sock for root on the default queue only", () => {
  const system = { queueDir: "/var/spool/smtpd/", defaultQueueDir: "/var/spool/smtpd" };
  assertEquals(controlSocketName({ ...system, root: true }), SYSTEM_SOCKET_PATH);
  assertEquals(SYSTEM_SOCKET_PATH, "/var/run/smtpd.sock");
  // An unprivileged daemon, or one of another queue, keeps to its offline directory.
  assertEquals(controlSocketName({ ...system, root: false }), undefined);
  assertEquals(
    controlSocketName({ queueDir: "/tmp/q", defaultQueueDir: "/var/spool/smtpd", root: true }),
    undefined,
  );
  // `control socket PATH` names it for any daemon.
  assertEquals(
    controlSocketName({ ...system, root: false, configured: "/run/x.sock" }),
    "/run/x.sock",
  );
});

Deno.test("nameControlSocket() links the name, replaces a stale link, leaves a file alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const name = `${dir}/smtpd.sock`;
    await Deno.symlink(`${dir}/gone.sock`, name);
    const unname = await nameControlSocket(name, `${dir}/offline/smtpd.sock`);
    assertEquals(await Deno.readLink(name), `${dir}/offline/smtpd.sock`);
    // Another daemon took the name since: removing ours leaves theirs.
    await Deno.remove(name);
    await Deno.symlink(`${dir}/other.sock`, name);
    await unname();
    assertEquals(await Deno.readLink(name), `${dir}/other.sock`);
    const again = await nameControlSocket(name, `${dir}/offline/smtpd.sock`);
    await again();
    assertEquals(await Deno.lstat(name).catch(() => undefined), undefined);
    await Deno.writeTextFile(name, "not a socket");
    await assertRejects(
      () => nameControlSocket(name, `${dir}/offline/smtpd.sock`),
      Error,
      "exists and is not a socket or a link",
    );
    assertEquals(await Deno.readTextFile(name), "not a socket");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("privilegedPeers() admits root, the daemon's user and the control group's members", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = { passwd: `${dir}/passwd`, group: `${dir}/group` };
    await Deno.writeTextFile(
      files.passwd,
      [
        "root:x:0:0:root:/root:/bin/sh",
        "ann:x:1000:1000::/home/ann:/bin/sh",
        "bob:x:1001:1001::/home/bob:/bin/sh",
        "cat:x:1002:500::/home/cat:/bin/sh",
        "dan:x:1003:1003::/home/dan:/bin/sh",
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(files.group, "root:x:0:\nmailadm:x:500:bob, ann\nann:x:1000:\n");
    const allowed = privilegedPeers({ daemonUid: 1003, group: "mailadm", files });
    // Members by the group's list (ann, bob) and by their primary group (cat).
    assertEquals([0, 1000, 1001, 1002, 1003, 1004].map(allowed), [
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
    const rootOnly = privilegedPeers({ daemonUid: 0, files });
    assertEquals([0, 1000, 1002].map(rootOnly), [true, false, false]);
    assertEquals(isGroupMember(1002, "500", files), true);
    assertEquals(isGroupMember(1000, "nosuch", files), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
