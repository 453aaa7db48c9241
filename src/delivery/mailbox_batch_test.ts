// Batched mailbox writes in this process (a daemon that is not root): every recipient's
// Maildir gets its own file, and one that cannot be written fails alone, with the error
// it gets when written alone.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { batchMailboxWrites } from "./mailbox_batch.ts";
import type { MailboxRequest } from "./mailbox_request.ts";
import { createMailboxWriter } from "./mailbox_writer.ts";

const SELF = { name: "self", uid: 1, gid: 1, home: "/" };

Deno.test("batchMailboxWrites() writes each recipient's Maildir, and a failing one fails alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-mailbox-batch-" });
  // A file where r3's Maildir should be: its tmp/ cannot be made, even by root.
  await Deno.writeTextFile(`${dir}/r3`, "not a directory\n");
  const writer = createMailboxWriter({ log: SILENT_LOGGER, asUsers: false });
  const batched = batchMailboxWrites(writer);
  const request = (rcpt: string, evpid: string): MailboxRequest => ({
    kind: "maildir",
    dir: `${dir}/${rcpt}`,
    returnPath: "sender@client.test",
    deliveredTo: `${rcpt}@rcpt.test`,
    evpid,
    recovered: false,
  });
  const outcome = (write: Promise<void>) =>
    write.then(() => "written", (error) => errorMessage(error));
  try {
    const content = new TextEncoder().encode("Subject: five\r\n\r\nbody\r\n");
    const alone = await outcome(writer.write(SELF, request("r3", "e0"), content));
    assertStringIncludes(alone, `${dir}/r3/tmp`);
    const results = await Promise.all(
      ["r1", "r2", "r3", "r4", "r5"].map((rcpt, n) =>
        outcome(batched.write(SELF, request(rcpt, `e${n + 1}`), content))
      ),
    );
    assertEquals(results, ["written", "written", alone, "written", "written"]);
    for (const rcpt of ["r1", "r2", "r4", "r5"]) {
      const names = [...Deno.readDirSync(`${dir}/${rcpt}/new`)].map((e) => e.name);
      assertEquals(names.length, 1);
      assertEquals(
        await Deno.readTextFile(`${dir}/${rcpt}/new/${names[0]}`),
        `Return-Path: <sender@client.test>\nDelivered-To: ${rcpt}@rcpt.test\nSubject: five\n\nbody\n`,
      );
    }
  } finally {
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
