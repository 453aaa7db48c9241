// The parent's answer to a "mailboxes" request: every write checked as a single one is,
// written by a child running as the user, and a refused or failing write failing alone
// with the same reason it would have alone. Needs root (the writer runs as nobody).

import { systemAccount } from "../../test/_users.ts";
import { assertEquals, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { loadConfig } from "../config/mod.ts";
import type { MailboxRequest } from "../delivery/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { TableSet } from "../tables/mod.ts";
import { createParentService } from "./parent_service.ts";

Deno.test("createParentService() writes each mailbox of a mailboxes request, failing only the bad ones", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: parent mailboxes test: not running as root");
    return;
  }
  const user = await systemAccount("nobody");
  const dir = await Deno.makeTempDir({ prefix: "smtpd-parent-mailboxes-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `action "local" maildir\nmatch from any for local action "local"\n`,
  );
  const config = await loadConfig(`${dir}/smtpd.conf`);
  const tables = await TableSet.open(config, { baseDir: dir });
  const service = createParentService({ config, tables: () => tables.tables, log: SILENT_LOGGER });
  const maildir = (name: string): MailboxRequest => ({
    kind: "maildir",
    dir: name.startsWith("/") || name === "relative" ? name : `${dir}/${name}`,
    returnPath: "sender@client.test",
    deliveredTo: `${name.replace(/.*\//, "")}@rcpt.test`,
    evpid: "a6dac83c0fa0ce87",
    recovered: false,
  });
  try {
    for (const name of ["r1", "r4"]) {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.chown(`${dir}/${name}`, user.uid, user.gid);
    }
    // root's, 0755: nobody cannot make its tmp/.
    await Deno.mkdir(`${dir}/locked`, { mode: 0o755 });
    const content = new TextEncoder().encode("Subject: four\r\n\r\nbody\r\n");
    const requests = [maildir("r1"), maildir("relative"), maildir("locked"), maildir("r4")];

    // What each bad write gets when it is asked alone.
    const alone = await Promise.all(
      [requests[1], requests[2]].map((request) =>
        service.answer({ kind: "mailbox", user, request }, content)
      ),
    );
    const answer = await service.answer({ kind: "mailboxes", user, requests }, content);
    assertEquals(answer.kind, "written-each");
    const results = answer.kind === "written-each" ? answer.results : [];
    assertEquals<unknown>(results, [{ kind: "written" }, alone[0], alone[1], { kind: "written" }]);
    assertEquals(alone[0], {
      kind: "refused",
      reason: `the Maildir "relative" is not a plain absolute path`,
      permanent: true,
    });
    assertTrue(alone[1]!.kind === "refused" && alone[1]!.permanent === undefined);
    assertStringIncludes(alone[1]!.kind === "refused" ? alone[1]!.reason : "", "Permission denied");

    for (const name of ["r1", "r4"]) {
      const files = [...Deno.readDirSync(`${dir}/${name}/new`)].map((e) => e.name);
      assertEquals(files.length, 1, `${name}: ${files}`);
      const path = `${dir}/${name}/new/${files[0]}`;
      assertEquals((await Deno.stat(path)).uid, user.uid);
      assertEquals(
        await Deno.readTextFile(path),
        `Return-Path: <sender@client.test>\nDelivered-To: ${name}@rcpt.test\n` +
          "Subject: four\n\nbody\n",
      );
    }
    assertEquals([...Deno.readDirSync(`${dir}/locked`)], []);

    // A request with no writes, or not a list of them, is refused as a whole.
    assertEquals(
      await service.answer({ kind: "mailboxes", user, requests: [] }, content),
      {
        kind: "refused",
        reason: "a mailboxes request has 1 to 1000 writes",
        permanent: true,
      },
    );
  } finally {
    await service.close();
    tables.close();
    await Deno.remove(dir, { recursive: true });
  }
});
