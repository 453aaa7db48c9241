// A relative `maildir` path is under the home of the user the mail is for, as OpenSMTPD
// delivers from that home: a system user's mail lands in ~/Maildir, never beside the
// configuration file, and a user whose home does not exist gets a failure report. Needs
// root (a real account and deliveries run as it); skipped, with the reason printed, if not.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor, waitListening } from "../_helpers.ts";
import { createUser, removeUser, systemAccount } from "../_users.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const NAME = "smtpdmdhome";

Deno.test("maildir: a relative path is under the user's home, and a missing home fails", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: maildir home test: not running as root (it creates a system user)");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-maildir-home-" });
  await Deno.chmod(dir, 0o755);
  let daemon: Deno.ChildProcess | undefined;
  try {
    await removeUser(NAME);
    await createUser(NAME, `${dir}/home`);
    const account = await systemAccount(NAME);
    const port = freePort();
    // `maildir Maildir` unquoted, as parse.y allows; the virtual user's home is missing.
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
table ghosts { ghost = "${account.uid}:${account.gid}:/nonexistent" }
action "home" maildir Maildir
action "ghost" maildir "Maildir" userbase <ghosts>
match from any for domain "ghost.test" action "ghost"
match from any for local action "home"
`,
    );
    daemon = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-d", "-u", "root", "-f", `${dir}/smtpd.conf`],
      stdout: "null",
      stderr: Deno.env.get("SMTPD_TEST_LOG") ? "inherit" : "null",
    }).spawn();
    await waitListening(port);
    const from = `${NAME}@localhost`;
    await sendMessage(port, { from, to: [`${NAME}@localhost`], body: "Subject: home\n\nx\n" });
    await sendMessage(port, { from, to: ["ghost@ghost.test"], body: "Subject: ghost\n\nx\n" });
    const inbox = `${account.home}/Maildir`;
    const delivered = await waitFor("the message in ~/Maildir", async () => {
      const found = await readMaildir(inbox);
      return found.find((m) => m.text.includes("Subject: home"));
    });
    const info = await Deno.stat(`${inbox}/new/${delivered.name}`);
    assertEquals([info.uid, info.gid], [account.uid, account.gid]);
    const bounce = await waitFor("the failure report for ghost@", async () => {
      const found = await readMaildir(inbox);
      return found.find((m) => m.text.includes("Delivery status notification: failed"));
    });
    assertStringIncludes(bounce.text, 'has no home directory "/nonexistent" for maildir');
    // Nothing beside the configuration file, nor under the missing home.
    assertEquals(await exists(`${dir}/Maildir`), false);
    assertEquals(await exists("/nonexistent"), false);
  } finally {
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.status;
    }
    await removeUser(NAME);
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
