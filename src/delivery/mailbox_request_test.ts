import { assertEquals } from "../../test/assert.ts";
import { performMailboxRequests } from "./mailbox_request.ts";

const MESSAGE = new TextEncoder().encode("Subject: hi\r\n\r\nhello\r\n");

function maildirUnder(root: string, home: string) {
  return {
    kind: "maildir" as const,
    dir: `${root}/${home}/mail/alice/Maildir`,
    home: { user: "vmail", home: `${root}/${home}`, path: "mail/alice/Maildir" },
    returnPath: "a@example.test",
    deliveredTo: "alice@example.test",
    evpid: "0123abcd",
    recovered: false,
  };
}

Deno.test("performMailboxRequests() refuses for good a Maildir under a missing home, and makes nothing there", async () => {
  const root = await Deno.makeTempDir({ prefix: "smtpd-mailbox-request-" });
  try {
    await Deno.mkdir(`${root}/vmail`);
    const results = await performMailboxRequests([
      maildirUnder(root, "missing"),
      maildirUnder(root, "vmail"),
    ], MESSAGE);
    assertEquals(results, [
      {
        error: `user "vmail" has no home directory "${root}/missing" for maildir ` +
          `"mail/alice/Maildir"`,
        permanent: true,
      },
      {},
    ]);
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name), ["vmail"]);
    assertEquals([...Deno.readDirSync(`${root}/vmail/mail/alice/Maildir/new`)].length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
