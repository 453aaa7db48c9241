// The pid file: where it goes, one live daemon per file, stale files replaced.

import { assertEquals, assertThrows } from "../../test/assert.ts";
import { checkPidFile, DaemonRunningError, livePid, pidFilePath, writePidFile } from "./pidfile.ts";

Deno.test("pidFilePath() is /var/run/smtpd.pid as root, beside the queue otherwise, or $SMTPD_PIDFILE", () => {
  const saved = Deno.env.get("SMTPD_PIDFILE");
  Deno.env.delete("SMTPD_PIDFILE");
  try {
    assertEquals(pidFilePath("/var/spool/smtpd", true), "/var/run/smtpd.pid");
    assertEquals(pidFilePath("/home/u/q", false), "/home/u/q/smtpd.pid");
    Deno.env.set("SMTPD_PIDFILE", "/tmp/elsewhere.pid");
    assertEquals(pidFilePath("/var/spool/smtpd", true), "/tmp/elsewhere.pid");
  } finally {
    if (saved === undefined) Deno.env.delete("SMTPD_PIDFILE");
    else Deno.env.set("SMTPD_PIDFILE", saved);
  }
});

Deno.test("writePidFile() writes this pid, refuses a live other one, and its remover removes only its own", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.pid`;
  const remove = writePidFile(path);
  assertEquals(Deno.readTextFileSync(path), `${Deno.pid}\n`);
  assertEquals(livePid(path), Deno.pid);
  remove();
  assertEquals(livePid(path), undefined);
  // A file naming a live process that is not this one.
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  Deno.writeTextFileSync(path, `${other.pid}\n`);
  assertThrows(() => checkPidFile(path), DaemonRunningError, `another smtpd (pid ${other.pid})`);
  // Garbage is stale, and replaced.
  Deno.writeTextFileSync(path, "not a pid\n");
  const again = writePidFile(path);
  assertEquals(Deno.readTextFileSync(path), `${Deno.pid}\n`);
  Deno.writeTextFileSync(path, `${other.pid}\n`);
  again();
  assertEquals(
    Deno.readTextFileSync(path),
    `${other.pid}\n`,
    "another daemon's file is left alone",
  );
  other.kill();
  await other.status;
  // Once that process is gone, its file is stale.
  assertEquals(livePid(path), undefined);
  await Deno.remove(dir, { recursive: true });
});
