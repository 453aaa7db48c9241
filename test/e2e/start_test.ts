// What stops the daemon from starting, and what it says: problems an operator can fix.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertRejects } from "../assert.ts";
import { freePort } from "../_helpers.ts";

async function configIn(dir: string, text: string) {
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${freePort()}\n${text}`,
  );
  return await loadConfig(path);
}

Deno.test("a missing table file stops the start, naming the table and the path", async () => {
  const dir = await Deno.makeTempDir();
  const config = await configIn(
    dir,
    `table aliases file:${dir}/aliases\naction "a" maildir alias <aliases>\nmatch for local action "a"\n`,
  );
  await assertRejects(
    () => startDaemon({ config, log: SILENT_LOGGER }),
    Error,
    `"aliases"`,
  );
  await assertRejects(() => startDaemon({ config, log: SILENT_LOGGER }), Error, `${dir}/aliases`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a list table used where a mapping is needed stops the start with its position", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/users`, "alice\nbob\n");
  const config = await configIn(
    dir,
    `table users file:${dir}/users\naction "a" maildir virtual <users>\nmatch for local action "a"\n`,
  );
  await assertRejects(
    () => startDaemon({ config, log: SILENT_LOGGER }),
    Error,
    `${dir}/smtpd.conf:4:29: table "users" cannot be used for alias lookups`,
  );
  await Deno.remove(dir, { recursive: true });
});
