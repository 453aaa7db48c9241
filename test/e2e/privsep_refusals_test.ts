// Started as root, the daemon bounces at once what the privileged parent refuses for good
// — mail for root, which it never delivers as root, by Maildir or mbox — with the
// parent's reason in the report and nothing left queued; what the parent could not do
// for now (the mail spool is missing) stays queued for another try. Skipped, with the
// reason printed, when not root or without setpriv.

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import {
  ensureFrontUser,
  type LoggedDaemon,
  makeUser,
  removeUser,
  skipReason,
  startLoggedDaemon,
} from "./_privsep.ts";
import { smtpctlJson } from "./_smtpctl.ts";

async function queued(conf: string): Promise<{ rcpt: string; lastError?: string }[]> {
  return (await smtpctlJson<{ envelopes: { rcpt: string }[] }>(conf, ["show", "queue"]))
    .envelopes;
}

Deno.test("as root, mail for root bounces at once with the parent's reason, and a temporary refusal stays queued", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation refusals test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-refusals-" });
  await Deno.chmod(dir, 0o755);
  const user = await makeUser(dir, "unused-password");
  let daemon: LoggedDaemon | undefined;
  try {
    const port = freePort();
    const conf = `${dir}/smtpd.conf`;
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "maildir" maildir
action "mbox" mbox
match from any for domain "local.test" action "maildir"
match from any for domain "spool.test" action "mbox"
`,
    );
    // No such directory: an mbox write is one the parent cannot do now.
    const running = await startLoggedDaemon(["-f", conf], port, {
      SMTPD_MAIL_SPOOL: `${dir}/no-spool`,
    });
    daemon = running;

    // Root, by Maildir and by mbox: accepted, then refused for good on the first try.
    const reply = await sendMessage(port, {
      from: `${user}@local.test`,
      to: ["root@local.test", "root@spool.test"],
      body: "Subject: for root\n\nhello root\n",
    });
    assertMatch(reply, /^250 /);
    const bounces = await waitFor("the sender's bounce", async () => {
      const found = await readMaildir(`${dir}/${user}/Maildir`);
      const text = found.map((m) => m.text).join("\n");
      return text.includes("root@local.test") && text.includes("root@spool.test")
        ? text
        : undefined;
    }, 60_000);
    assertStringIncludes(bounces, "Subject: Delivery status notification");
    assertStringIncludes(bounces, 'user "root": will not deliver as root (alias root to a user)');
    for (const rcpt of ["root@local.test", "root@spool.test"]) {
      const line = new RegExp(` rcpt=<${rcpt.replace(".", "\\.")}> .* result=(\\w+) `).exec(
        running.log(),
      );
      assertEquals(line?.[1], "PermFail", running.log());
    }
    assertEquals(running.log().match(/result=TempFail/g), null, running.log());
    assertEquals(await queued(conf), []);

    // A write the parent could not make now (no spool directory) is tried again later.
    const again = await sendMessage(port, {
      from: `${user}@local.test`,
      to: [`${user}@spool.test`],
      body: "Subject: for the spool\n\nlater\n",
    });
    assertMatch(again, /^250 /);
    await waitFor(
      "the deferral",
      () =>
        new RegExp(` rcpt=<${user}@spool\\.test> .* result=TempFail `).test(running.log()) ||
        undefined,
      60_000,
    );
    assertEquals((await queued(conf)).map((e) => e.rcpt), [`${user}@spool.test`]);

    assertEquals(await running.stop(), 0);
  } finally {
    await daemon?.kill();
    await removeUser(user);
    await Deno.remove(dir, { recursive: true });
  }
});
