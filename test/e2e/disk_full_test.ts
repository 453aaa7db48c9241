// A full disk under the queue: the message that cannot be written gets 451 4.3.0, the
// daemon keeps serving, and once space is back mail is accepted and delivered again.
// Needs a small tmpfs, so root; skipped (with the reason printed) otherwise.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import {
  freePort,
  readMaildir,
  sendMessage,
  SmtpTestClient,
  spawnDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";
import { fill, mountTmpfs, unmountTmpfs } from "../_tmpfs.ts";

Deno.test("a full queue disk answers 451 4.3.0, keeps serving, and recovers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-diskfull-" });
  const queueFs = `${dir}/queue-fs`;
  await Deno.mkdir(queueFs);
  const skip = await mountTmpfs(queueFs, "4m");
  if (skip) {
    console.log(`skipped: disk-full test: ${skip}`);
    await Deno.remove(dir, { recursive: true });
    return;
  }
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${queueFs}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnDaemon(conf);
  try {
    await waitListening(port);
    await sendMessage(port, {
      from: "a@client.test",
      to: ["u@example.test"],
      body: "Subject: before\n\nx\n",
    });
    await fill(`${queueFs}/filler`);

    await using client = await SmtpTestClient.connect(port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("a@client.test", ["u@example.test"]);
    const line = "this line fills the queue's disk beyond its last free page\r\n";
    await client.sendRaw(`Subject: too much\r\n\r\n${line.repeat(8000)}.\r\n`);
    assertStringIncludes(await client.expect("451 "), "451 4.3.0");
    // The session and the daemon carry on.
    await client.send("NOOP");
    await client.expect("250 ");
    await using other = await SmtpTestClient.connect(port);
    await other.expect("220 ");

    await Deno.remove(`${queueFs}/filler`);
    await client.send("RSET");
    await client.expect("250 ");
    await client.startData("a@client.test", ["u@example.test"]);
    await client.sendRaw("Subject: after\r\n\r\nspace is back\r\n.\r\n");
    await client.expect("250 ");
    const files = await waitFor("both messages delivered", async () => {
      const found = await readMaildir(`${dir}/mail`);
      return found.length >= 2 ? found : undefined;
    });
    const subjects = files.map((f) => /Subject: (\w+)/.exec(f.text)?.[1]).sort();
    assertEquals(subjects, ["after", "before"]);
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await unmountTmpfs(queueFs);
    await Deno.remove(dir, { recursive: true });
  }
});
