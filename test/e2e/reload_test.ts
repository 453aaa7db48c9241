// SIGHUP reloads the tables of a running daemon: a recipient added to a table file is
// accepted afterwards without a restart, and a broken file keeps the old contents.

import { assertEquals } from "../assert.ts";
import { freePort, SmtpTestClient, waitFor, waitListening } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

async function rcptReply(port: number, rcpt: string): Promise<string> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("HELO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send(`RCPT TO:<${rcpt}>`);
  return (await client.reply()).slice(0, 3);
}

Deno.test("SIGHUP reloads table files; a table that fails to load keeps its contents", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  await Deno.writeTextFile(`${dir}/recipients`, "alice@example.test\n");
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
table recipients file:${dir}/recipients
listen on 127.0.0.1 port ${port}
action "a" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for rcpt-to <recipients> action "a"
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logging = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void (log += text) }),
  );
  try {
    await waitListening(port);
    assertEquals(await rcptReply(port, "alice@example.test"), "250");
    assertEquals(await rcptReply(port, "bob@example.test"), "550");

    await Deno.writeTextFile(`${dir}/recipients`, "alice@example.test\nbob@example.test\n");
    child.kill("SIGHUP");
    await waitFor(
      "bob to be accepted",
      async () => (await rcptReply(port, "bob@example.test")) === "250" || undefined,
    );

    // A table file that cannot be read keeps what was loaded, and the log says why.
    await Deno.remove(`${dir}/recipients`);
    child.kill("SIGHUP");
    await waitFor(
      "the failed reload in the log",
      () => /warn: smtpd: .*recipients/.test(log) || undefined,
    );
    assertEquals(await rcptReply(port, "bob@example.test"), "250");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await logging;
    await Deno.remove(dir, { recursive: true });
  }
});
