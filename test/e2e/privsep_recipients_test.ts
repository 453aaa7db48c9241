// Started as root, the daemon delivers the five recipients of one message (five virtual
// users of one system user) to five Maildirs through one request from the front to a
// writer running as the user, which the privileged parent started but is not in the path
// of, as the `-T imsg` trace shows; each file has its own Delivered-To, and a
// recipient whose Maildir the user cannot write fails alone while the others are
// delivered. Skipped, with the reason printed, when not root or without setpriv.

import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { MAILBOX_WRITER_ROLE } from "../../src/privsep/mod.ts";
import {
  accountIds,
  childrenOf,
  ensureFrontUser,
  type LoggedDaemon,
  makeUser,
  removeUser,
  skipReason,
  startLoggedDaemon,
} from "./_privsep.ts";

const RECIPIENTS = ["r1", "r2", "r3", "r4", "r5"];

Deno.test("as root, a message's five recipients go from the front to the user's writer as one request, and an unwritable Maildir fails alone", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation recipients test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-rcpts-" });
  await Deno.chmod(dir, 0o755);
  const user = await makeUser(dir, "unused-password");
  let daemon: LoggedDaemon | undefined;
  try {
    const ids = await accountIds(user);
    await Deno.mkdir(`${dir}/boxes`);
    await Deno.chown(`${dir}/boxes`, ids.uid, ids.gid);
    // r3's Maildir is root's (0755): the user cannot make its tmp/ in it.
    await Deno.mkdir(`${dir}/boxes/r3`, { mode: 0o755 });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
table vusers { "@rcpt.test" = "${user}" }
listen on 127.0.0.1 port ${port}
action "boxes" maildir "${dir}/boxes/%{rcpt.user:lowercase}" virtual <vusers>
match from any for domain "rcpt.test" action "boxes"
`,
    );
    const running = await startLoggedDaemon(["-T", "imsg", "-f", `${dir}/smtpd.conf`], port);
    daemon = running;
    const reply = await sendMessage(port, {
      from: "sender@client.test",
      to: RECIPIENTS.map((r) => `${r}@rcpt.test`),
      body: "Subject: five of them\n\nfor every recipient\n",
    });
    assertMatch(reply, /^250 /);

    // The four writable Maildirs get the message once each, with their own Delivered-To.
    for (const rcpt of RECIPIENTS.filter((r) => r !== "r3")) {
      const mail = await waitFor(`the delivery to ${rcpt}`, async () => {
        const found = await readMaildir(`${dir}/boxes/${rcpt}`);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      assertEquals(mail.length, 1, `${rcpt}: ${mail.map((m) => m.name)}`);
      const head = mail[0]!.text.split("\n").slice(0, 2);
      assertEquals(head, ["Return-Path: <sender@client.test>", `Delivered-To: ${rcpt}@rcpt.test`]);
      assertStringIncludes(mail[0]!.text, "Subject: five of them\n");
      const file = await Deno.stat(`${dir}/boxes/${rcpt}/new/${mail[0]!.name}`);
      assertEquals([file.uid, file.gid], [ids.uid, ids.gid]);
    }
    // r3 alone is deferred, with the reason the parent's writer gave.
    const deferred = await waitFor(
      "r3's deferral",
      () =>
        /.* rcpt=<r3@rcpt\.test> .* result=TempFail stat=(.*)\n/.exec(running.log()) ?? undefined,
      60_000,
    );
    assertMatch(deferred[1]!, /^Permission denied \(os error 13\): mkdir '.*\/boxes\/r3\/tmp'$/);
    assertEquals(await readMaildir(`${dir}/boxes/r3`), []);
    const delivered =
      running.log().match(/ rcpt=<r\d@rcpt\.test> .* result=Ok stat=Delivered\n/g) ?? [];
    assertEquals(delivered.length, 4, running.log());

    // The five writes went from the front to a writer of the user's as one request: the
    // parent was asked once to start that writer, and for no write.
    assertEquals(
      running.log().match(/front -> writer: 5 mailbox writes for /g)?.length,
      1,
      running.log(),
    );
    assertEquals(running.log().match(/front -> parent: mailboxe?s? #/g), null, running.log());
    assertEquals(running.log().match(/front -> parent: writer #/g)?.length, 1, running.log());
    // That writer is the parent's child, running as the user.
    const writers = (await childrenOf(running.pid)).filter((c) => c.name === MAILBOX_WRITER_ROLE);
    assertEquals(writers.map((w) => w.user), [user]);

    assertEquals(await running.stop(), 0);
  } finally {
    await daemon?.kill();
    await removeUser(user);
    await Deno.remove(dir, { recursive: true });
  }
});
