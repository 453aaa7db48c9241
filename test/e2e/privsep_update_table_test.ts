// Started as root, `smtpctl update table aliases` reloads the table in the front and in
// the privileged parent both, so a `|command` alias added to the file runs at once: the
// parent checks the command against its own copy of the table. Skipped, with the reason
// printed, when not root or without setpriv.

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, sendMessage, waitFor } from "../_helpers.ts";
import { ensureFrontUser, type LoggedDaemon, skipReason, startLoggedDaemon } from "./_privsep.ts";
import { smtpctl } from "./_smtpctl.ts";

Deno.test("as root, update table reloads the parent's aliases too, and a |command added to them runs", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation update table test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-update-" });
  await Deno.chmod(dir, 0o755);
  let daemon: LoggedDaemon | undefined;
  try {
    // The aliases' commands run as nobody: it may write here.
    await Deno.mkdir(`${dir}/out`, { mode: 0o777 });
    await Deno.chmod(`${dir}/out`, 0o777);
    await Deno.writeTextFile(`${dir}/aliases`, "postmaster: nobody\n");
    const port = freePort();
    const conf = `${dir}/smtpd.conf`;
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"
table aliases file:${dir}/aliases
listen on 127.0.0.1 port ${port}
action "local" maildir alias <aliases>
match from any for domain "localhost" action "local"
`,
    );
    const running = await startLoggedDaemon(["-f", conf], port);
    daemon = running;

    await Deno.writeTextFile(
      `${dir}/aliases`,
      `pipe1: "|/usr/bin/tee -a ${dir}/out/pipe.out"\n`,
      { append: true },
    );
    const update = await smtpctl(conf, ["update", "table", "aliases"]);
    assertEquals([update.code, update.stdout], [0, "command succeeded\n"], update.stderr);

    const reply = await sendMessage(port, {
      from: "sender@client.test",
      to: ["pipe1@localhost"],
      body: "Subject: piped\n\nthrough the new alias\n",
    });
    assertMatch(reply, /^250 /);
    const piped = await waitFor(
      "the command's output",
      () =>
        Deno.readTextFile(`${dir}/out/pipe.out`).then(
          (text) => text.includes("through the new alias") ? text : undefined,
          () => undefined,
        ),
      60_000,
    );
    assertStringIncludes(piped, "Subject: piped");
    assertEquals(running.log().match(/refused pipe request/g), null, running.log());
    assertStringIncludes(running.log(), "privsep: table aliases updated");

    // A table the configuration does not declare is refused, with a non-zero exit.
    const unknown = await smtpctl(conf, ["update", "table", "nosuch"]);
    assertEquals(unknown.code, 1, unknown.stdout);

    assertEquals(await running.stop(), 0);
  } finally {
    await daemon?.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
