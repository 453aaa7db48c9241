// A table that stops loading never takes the daemon down: a regex table edited to hold a
// bad pattern is refused on SIGHUP (the old rules answer on), and refused at start.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";

async function mailFromReply(port: number, sender: string): Promise<string> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("HELO client.test");
  await client.expect("250 ");
  await client.send(`MAIL FROM:<${sender}>`);
  await client.expect("250 ");
  await client.send("RCPT TO:<rcpt@example.test>");
  return (await client.reply()).slice(0, 3);
}

async function writeConfig(dir: string, port: number): Promise<string> {
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
table senders file:${dir}/senders
listen on 127.0.0.1 port ${port}
action "a" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any mail-from regex <senders> for domain "example.test" action "a"
`,
  );
  return `${dir}/smtpd.conf`;
}

Deno.test("SIGHUP with a bad pattern in a regex table keeps the daemon and the old rules", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  await Deno.writeTextFile(`${dir}/senders`, "^alice@\n");
  const daemon = spawnLoggedDaemon(await writeConfig(dir, port));
  try {
    await waitListening(port);
    assertEquals(await mailFromReply(port, "alice@client.test"), "250");
    assertEquals(await mailFromReply(port, "bob@client.test"), "550");

    await Deno.writeTextFile(`${dir}/senders`, "^alice@\n^bob@\n(unclosed\n");
    daemon.child.kill("SIGHUP");
    const warning = await waitFor(
      "the refused reload in the log",
      () => daemon.log().split("\n").find((l) => l.includes("was not reloaded")),
    );
    assertStringIncludes(
      warning,
      `Cannot load table "senders" from "${dir}/senders", line 3: ` +
        `invalid regular expression "(unclosed": Unmatched ( or \\(`,
    );
    // Still up, still the old patterns: bob is not let in by the half-good file.
    assertEquals(await mailFromReply(port, "alice@client.test"), "250");
    assertEquals(await mailFromReply(port, "bob@client.test"), "550");

    // Once the file is fixed, a reload takes it.
    await Deno.writeTextFile(`${dir}/senders`, "^alice@\n^bob@\n");
    daemon.child.kill("SIGHUP");
    await waitFor(
      "bob to be accepted",
      async () => (await mailFromReply(port, "bob@client.test")) === "250" || undefined,
    );
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(daemon.log().includes("Uncaught"), false, daemon.log());
});

Deno.test("a daemon started on a regex table with a bad pattern exits naming table, file, line", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  await Deno.writeTextFile(`${dir}/senders`, "# who may send\n^alice@\n[z-a]\n");
  const daemon = spawnLoggedDaemon(await writeConfig(dir, port));
  const status = await daemon.exited();
  await Deno.remove(dir, { recursive: true });
  assertEquals(status.success, false);
  assertStringIncludes(
    daemon.log(),
    `Cannot load table "senders" from "${dir}/senders", line 3: ` +
      `invalid regular expression "[z-a]": Invalid range end`,
  );
});
