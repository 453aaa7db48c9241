// SIGTERM to a separated daemon (the parent, which stops its front): a session in the
// middle of a message finishes it, gets its 250 and then the 421, and the message is
// delivered once. Skipped, with the reason printed, when not root or without setpriv.

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import {
  freePort,
  readMaildir,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { ensureFrontUser, makeUser, removeUser, skipReason } from "./_privsep.ts";

Deno.test("separated, SIGTERM lets a message mid-DATA finish: 250, then 421, delivered once", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privsep stop test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-stop-" });
  await Deno.chmod(dir, 0o755);
  const user = await makeUser(dir, "unused-password");
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, {}, { separated: true });
  try {
    await waitListening(port, 60_000);
    await using idle = await SmtpTestClient.connect(port);
    await idle.expect("220 ");
    await using client = await SmtpTestClient.connect(port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("me@client.test", [`${user}@example.test`]);
    // A large message, half of it sent before the signal.
    const line = "x".repeat(76) + "\r\n";
    await client.sendRaw("Subject: in flight\r\n\r\n" + line.repeat(2000));

    daemon.child.kill("SIGTERM");
    await idle.expect("421 4.3.2 ");
    await client.sendRaw(line.repeat(2000) + "the end\r\n.\r\n");
    assertMatch(await client.expect("250 "), /^250 2\.0\.0 [0-9a-f]{8} Message accepted/);
    await client.expect("421 4.3.2 ");
    assertEquals((await daemon.exited()).code, 0, daemon.log());
    assertStringIncludes(daemon.log(), "SIGTERM: stopping");

    // Delivered before the exit, or by the next start: either way once.
    const maildir = `${dir}/${user}/Maildir`;
    let files = await readMaildir(maildir);
    if (files.length === 0) {
      const again = spawnLoggedDaemon(`${dir}/smtpd.conf`, {}, { separated: true });
      files = await waitFor("the delivery after restart", async () => {
        const found = await readMaildir(maildir);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      again.child.kill("SIGTERM");
      await again.exited();
    }
    assertEquals(files.length, 1);
    assertStringIncludes(files[0]!.text, "the end\n");
  } finally {
    try {
      daemon.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await daemon.exited();
    await removeUser(user);
    await Deno.remove(dir, { recursive: true });
  }
});
