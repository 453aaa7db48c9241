// A front that is taken over asks the parent to append to a file as a user: only that
// user's spool mailbox, or a `/file` its ~/.forward or the aliases name, is written; a
// ~/.profile is not. Needs root (the writer runs as nobody).

import { systemAccount } from "../../test/_users.ts";
import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { loadConfig } from "../config/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { TableSet } from "../tables/mod.ts";
import { createParentService } from "./parent_service.ts";

Deno.test("createParentService() appends only to a file the aliases or the user's .forward name", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: parent named file test: not running as root");
    return;
  }
  const user = await systemAccount("nobody");
  const dir = await Deno.makeTempDir({ prefix: "smtpd-parent-file-" });
  await Deno.chmod(dir, 0o755);
  const archive = `${dir}/archive`;
  const profile = `${dir}/profile`;
  for (const path of [archive, profile]) {
    await Deno.writeTextFile(path, "");
    await Deno.chown(path, user.uid, user.gid);
  }
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `table aliases { "archive" = "${archive}" }
action "local" maildir alias <aliases>
match from any for local action "local"
`,
  );
  const config = await loadConfig(`${dir}/smtpd.conf`);
  const tables = await TableSet.open(config, { baseDir: dir });
  const service = createParentService({ config, tables: () => tables.tables, log: SILENT_LOGGER });
  const content = new TextEncoder().encode("Subject: x\r\n\r\nbody\r\n");
  const mbox = (path: string, namedFile: boolean) => ({
    kind: "mailbox",
    user,
    request: { kind: "mbox", path, sender: "a@b.test", ...(namedFile ? { namedFile } : {}) },
  });
  try {
    const notMailbox = await service.answer(mbox(profile, false), content);
    assertEquals(notMailbox.kind, "refused");
    assertStringIncludes(
      notMailbox.kind === "refused" ? notMailbox.reason : "",
      `mbox "${profile}" is not nobody's mailbox`,
    );
    const notNamed = await service.answer(mbox(profile, true), content);
    assertStringIncludes(
      notNamed.kind === "refused" ? notNamed.reason : "",
      `file "${profile}" for nobody is in neither its ~/.forward nor the aliases`,
    );
    assertEquals(await Deno.readTextFile(profile), "");
    // The aliases name the archive: written, as nobody.
    assertEquals(await service.answer(mbox(archive, true), content), { kind: "written" });
    assertStringIncludes(await Deno.readTextFile(archive), "Subject: x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
