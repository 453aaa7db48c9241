// The seed document's "my first config", as written but for its listener: the aliases
// table built with makemap from the fixture, local mail through it into mbox, read back
// by Python's mailbox module.

import { runMakemap } from "../../src/compat/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, sendMessage, spawnDaemon, waitFor, waitListening } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the seed's first configuration delivers local mail through its aliases into mbox", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-seed-first-" });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/seed`);
  await Deno.mkdir(`${dir}/spool`, { mode: 0o1777 });
  await Deno.chmod(`${dir}/spool`, 0o1777);
  assertEquals(
    await runMakemap([
      "-t",
      "aliases",
      "-o",
      `${dir}/seed/aliases.db`,
      `${ROOT}examples/seed/aliases`,
    ]),
    0,
  );
  const port = freePort();
  const seed = await Deno.readTextFile(`${ROOT}examples/seed-first.conf`);
  // Only the listener changes: lo0 port 25 becomes a free port on 127.0.0.1.
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"\n` +
      seed.replace(/^listen on lo0$/m, `listen on 127.0.0.1 port ${port}`),
  );
  const daemon = spawnDaemon(`${dir}/smtpd.conf`, { SMTPD_MAIL_SPOOL: `${dir}/spool` });
  try {
    await waitListening(port);
    await sendMessage(port, {
      from: "someone@client.test",
      to: ["postmaster@localhost"],
      body: "Subject: to the postmaster\n\nhello\n",
    });
    await sendMessage(port, {
      from: "someone@client.test",
      to: ["abuse@localhost"],
      body: "Subject: an abuse report\n\nFrom the field.\n",
    });
    const mbox = `${dir}/spool/root`;
    await waitFor("two messages in root's mbox", async () => {
      const text = await Deno.readTextFile(mbox).catch(() => "");
      return text.match(/^From /gm)?.length === 2 || undefined;
    });
    const script = "import mailbox, sys, json\n" +
      "print(json.dumps([[m['Subject'], m['Delivered-To']] for m in mailbox.mbox(sys.argv[1])]))";
    const out = await new Deno.Command("python3", { args: ["-c", script, mbox], stdout: "piped" })
      .output();
    assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), [
      ["to the postmaster", "postmaster@localhost"],
      ["an abuse report", "abuse@localhost"],
    ]);
    assertStringIncludes(await Deno.readTextFile(mbox), "\n>From the field.\n");
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await Deno.remove(dir, { recursive: true });
  }
});
