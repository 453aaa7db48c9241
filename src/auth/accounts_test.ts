import bcrypt from "bcryptjs";
import { assertEquals } from "../../test/assert.ts";
import { StaticTable } from "../tables/mod.ts";
import { systemAuthenticator, tableAuthenticator } from "./accounts.ts";
import { checkPassword, hashPassword } from "./passwords.ts";

Deno.test("checkPassword() checks SHA-512, SHA-256 and bcrypt hashes and fails closed otherwise", () => {
  const sha512 = hashPassword("secret");
  assertEquals(checkPassword(sha512, "secret"), { ok: true });
  assertEquals(checkPassword(sha512, "Secret"), { ok: false, reason: "wrong password" });
  // From `openssl passwd -5 -salt saltsalt secret`.
  const sha256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";
  assertEquals(checkPassword(sha256, "secret").ok, true);
  assertEquals(checkPassword(bcrypt.hashSync("secret", 4), "secret"), { ok: true });
  assertEquals(checkPassword("$y$j9T$abc$def", "secret"), {
    ok: false,
    reason: 'hash scheme "$y$" is not supported (use bcrypt or SHA-512 crypt)',
  });
  assertEquals(checkPassword("!", "secret").ok, false);
  assertEquals(checkPassword("", "").ok, false);
});

Deno.test("tableAuthenticator() reads user hash and user:hash values", async () => {
  const hash = hashPassword("pw");
  const table = new StaticTable("creds", "map", [["alice", hash], ["bob", `bob:${hash}`]]);
  const check = tableAuthenticator(table);
  assertEquals(await check("alice", "pw"), { ok: true });
  assertEquals(await check("bob", "pw"), { ok: true });
  assertEquals(await check("carol", "pw"), { ok: false, reason: "unknown user" });
});

Deno.test("tableAuthenticator() checks the hash of a name:hash row whatever its name", async () => {
  const hash = hashPassword("pw");
  // What SQL, Redis and LDAP tables answer: the row's name is not always the login.
  const table = new StaticTable("creds", "map", [
    ["carol@example.org", `Carol@Example.org:${hash}`],
    ["alice@example.org", `alice:${hash}`],
  ]);
  const check = tableAuthenticator(table);
  assertEquals(await check("carol@example.org", "pw"), { ok: true });
  assertEquals(await check("alice@example.org", "pw"), { ok: true });
  assertEquals(await check("alice@example.org", "nope"), { ok: false, reason: "wrong password" });
});

Deno.test("systemAuthenticator() checks shadow(5) entries", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/shadow`,
    `root:!:19000:0:99999:7:::\nalice:${hashPassword("pw")}:19000:0:99999:7:::\n`,
  );
  const check = systemAuthenticator(`${dir}/shadow`);
  assertEquals(await check("alice", "pw"), { ok: true });
  assertEquals((await check("alice", "nope")).ok, false);
  assertEquals((await check("root", "")).ok, false);
  assertEquals(await check("nobody", "pw"), { ok: false, reason: "unknown user" });
  const unreadable = await systemAuthenticator(`${dir}/missing`)("alice", "pw");
  assertEquals(unreadable.ok, false);
  await Deno.remove(dir, { recursive: true });
});
