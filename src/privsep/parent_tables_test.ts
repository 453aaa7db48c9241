import { assertEquals } from "../../test/assert.ts";
import { parseConfig } from "../config/mod.ts";
import { tablesTheParentReads, unlistedAliasTables } from "./parent_tables.ts";

Deno.test("tablesTheParentReads(): userbases, and alias tables on this machine, never another server's", () => {
  const { config } = parseConfig(
    `table fileAliases file:/etc/mail/aliases
table redisAliases redis:/etc/mail/redis.conf
table ldapUsers ldap:/etc/mail/ldap.conf
table domains mysql:/etc/mail/mysql.conf
table creds file:/etc/mail/creds
action "a" maildir alias <fileAliases>
action "b" maildir virtual <redisAliases> userbase <ldapUsers>
match from any for domain <domains> action "a"
match from any for any action "b"
`,
    { file: "t.conf" },
  );
  assertEquals(tablesTheParentReads(config!).map((t) => t.name), ["fileAliases", "ldapUsers"]);
});

Deno.test("unlistedAliasTables(): the alias tables whose commands the parent cannot check", () => {
  const { config } = parseConfig(
    `table fileAliases file:/etc/mail/aliases
table redisAliases redis:/etc/mail/redis.conf
table liteAliases sqlite:/etc/mail/sqlite.conf
action "a" maildir alias <fileAliases>
action "b" maildir virtual <redisAliases>
action "c" mbox alias <liteAliases>
match from any for domain "a.test" action "a"
match from any for domain "b.test" action "b"
match from any for any action "c"
`,
    { file: "t.conf" },
  );
  assertEquals(unlistedAliasTables(config!), ["redisAliases", "liteAliases"]);
});
