// An smtpd.conf edited with a typo and not reloaded yet: sendmail, mailq and smtpctl print
// its errors and still reach the running daemon, which runs on the file it loaded. With no
// daemon they give up (78), leaving no message where no daemon may look.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import {
  OWN_IDS,
  readMaildir,
  runCli,
  spawnLoggedDaemon,
  waitFor,
  waitForLocalSocket,
} from "../_helpers.ts";

Deno.test("with a typo in smtpd.conf, sendmail, mailq and smtpctl still reach the running daemon, and only it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  const good = `queue path "${dir}/queue"
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from local for domain "example.test" action "local"
`;
  await Deno.writeTextFile(`${dir}/smtpd.conf`, good);
  const broken = `${dir}/broken.conf`;
  await Deno.writeTextFile(broken, `${good}this is a syntax error\n`);
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
  let stopped = false;
  try {
    await waitForLocalSocket(`${dir}/queue`);
    const sent = await runCli(
      ["sendmail", "-C", broken, "alice@example.test"],
      "Subject: typo\n\nx\n",
    );
    assertEquals(sent.code, 0, sent.stderr);
    assertStringIncludes(sent.stderr, `${broken}:4:1: `);
    assertStringIncludes(
      sent.stderr,
      `sendmail: ${broken} has errors: asking the running daemon only`,
    );
    const mail = await waitFor("the message delivered", async () => {
      const files = await readMaildir(`${dir}/mail`).catch(() => []);
      return files.length > 0 ? files : undefined;
    }, 60_000);
    assertStringIncludes(mail[0]!.text, "Subject: typo");
    const listed = await runCli(["mailq", "-C", broken]);
    assertEquals([listed.code, listed.stdout], [0, ""], listed.stderr);
    const status = await runCli(["smtpctl", "-f", broken, "show", "status"]);
    assertEquals([status.code, status.stdout], [0, "MDA running\nMTA running\nSMTP running\n"]);

    daemon.child.kill("SIGTERM");
    await daemon.exited();
    stopped = true;
    const refused = await runCli(
      ["sendmail", "-C", broken, "bob@example.test"],
      "Subject: no\n\nx\n",
    );
    assertEquals(refused.code, 78);
    assertStringIncludes(refused.stderr, "sendmail: no daemon answers (");
    assertStringIncludes(refused.stderr, "and the configuration has errors");
    const offline = [...Deno.readDirSync(`${dir}/queue-offline`)].map((e) => e.name);
    assertEquals(offline.filter((n) => !n.startsWith(".") && n !== "smtpd.sock"), []);
    assertEquals((await runCli(["mailq", "-C", broken])).code, 78);
    assertEquals((await runCli(["smtpctl", "-f", broken, "show", "queue"])).code, 78);
    // The good file still works without the daemon, from the queue file.
    const onFile = await runCli(["smtpctl", "-f", `${dir}/smtpd.conf`, "show", "queue"]);
    assertEquals(onFile.code, 0, onFile.stderr);
  } finally {
    if (!stopped) {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
    }
    await Deno.remove(dir, { recursive: true });
  }
});
