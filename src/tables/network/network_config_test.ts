import { assertEquals } from "../../../test/assert.ts";
import { parseConfigEntries } from "./network_config.ts";

Deno.test("parseConfigEntries() skips only blanks and a ':' before a blank after the key, as table_mysql.c", () => {
  const values = (text: string) =>
    Object.fromEntries([...parseConfigEntries(text)].map(([k, e]) => [k, e.value]));
  assertEquals(
    values(
      "password :colon\nusername: smtpd\nhost:db.example.org\ndatabase\t::mail\n" +
        "basedn :: dc=x\nurl  ldap://h:389\n",
    ),
    {
      password: ":colon",
      username: "smtpd",
      host: "db.example.org",
      database: "::mail",
      basedn: ":: dc=x",
      url: "ldap://h:389",
    },
  );
});
