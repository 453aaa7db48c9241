// The key a network table is asked with goes into its LDAP filter or redis command as it
// is: `$&`, `` $` ``, `$'` and `$$` (atext, so legal in an unquoted local part) are the
// key's characters, never replacement patterns that write filter syntax or change keys.

import { assertEquals } from "../../test/assert.ts";
import { ldapFilter } from "./ldap_config.ts";
import { redisCommand } from "./redis_config.ts";

const KEYS = ["x$`", "alice$'", "a$$b", "b$&c", "(*)\\"];

Deno.test("ldapFilter() escapes the key and inserts it literally", () => {
  const query = { filter: "(&(objectClass=nisMailAlias)(cn=%s))", attributes: ["mail"] };
  assertEquals(KEYS.map((k) => ldapFilter(query, k)), [
    "(&(objectClass=nisMailAlias)(cn=x$`))",
    "(&(objectClass=nisMailAlias)(cn=alice$'))",
    "(&(objectClass=nisMailAlias)(cn=a$$b))",
    "(&(objectClass=nisMailAlias)(cn=b$&c))",
    "(&(objectClass=nisMailAlias)(cn=\\28\\2a\\29\\5c))",
  ]);
});

Deno.test("redisCommand() inserts the key literally in each word", () => {
  assertEquals(
    KEYS.map((k) => redisCommand(["HMGET", "user:%s", "login", "%s:%s"], k)),
    KEYS.map((k) => ["HMGET", `user:${k}`, "login", `${k}:${k}`]),
  );
});
