import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects, assertThrows } from "../../test/assert.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { SqliteTable } from "./sqlite.ts";
import { parseSqliteConfig } from "./sqlite_config.ts";
import { TableContentError, TableLoadError } from "./table_error.ts";

const LIST_QUERIES = ["domain", "mailaddr", "netaddr", "source"];
const MAP_QUERIES = ["alias", "credentials", "userinfo", "mailaddrmap", "addrname"];

// One `entries` table compared case-insensitively, as a site's schema would declare it.
function writeDb(path: string, contents: ContractContents): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE entries (k TEXT NOT NULL COLLATE NOCASE, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO entries (k, v) VALUES (?, ?)");
  for (const [k, v] of contents.entries) insert.run(k, v);
  db.close();
}

runTableContract("sqlite", async (name, contents) => {
  const dir = await Deno.makeTempDir();
  writeDb(`${dir}/${name}.sqlite`, contents);
  const column = contents.shape === "list" ? "k" : "v";
  const services = contents.shape === "list" ? LIST_QUERIES : MAP_QUERIES;
  const lines = services.map((s) => `query_${s} SELECT ${column} FROM entries WHERE k = ?`);
  await Deno.writeTextFile(`${dir}/${name}.conf`, `dbpath ${name}.sqlite\n${lines.join("\n")}\n`);
  const table = await SqliteTable.open(name, `${dir}/${name}.conf`);
  await Deno.remove(dir, { recursive: true });
  return table;
}, { listsKeys: false, senderMaps: true });

Deno.test("SqliteTable formats multi-column and multi-row answers as table-sqlite does", async () => {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/mail.db`);
  db.exec(`
    CREATE TABLE users (name TEXT, uid INTEGER, gid INTEGER, home TEXT, hash TEXT);
    INSERT INTO users VALUES ('gilles', 1000, 1000, '/home/gilles', '$2b$08$abc');
    CREATE TABLE aliases (name TEXT, target TEXT);
    INSERT INTO aliases VALUES ('staff', 'gilles'), ('staff', 'eric');
  `);
  db.close();
  await Deno.writeTextFile(
    `${dir}/sqlite.conf`,
    [
      "# table-sqlite configuration",
      `dbpath ${dir}/mail.db`,
      "query_alias SELECT target FROM aliases WHERE name = ? ORDER BY target",
      "query_userinfo SELECT uid, gid, home FROM users WHERE name = ?",
      "query_credentials SELECT name, hash FROM users WHERE name = ?",
      "fetch_source SELECT 1",
    ].join("\n"),
  );
  const table = await SqliteTable.open("mail", `${dir}/sqlite.conf`);
  assertEquals(table.lookup("alias", "staff"), "eric, gilles");
  assertEquals(table.lookup("userinfo", "gilles"), "1000:1000:/home/gilles");
  assertEquals(table.lookup("credentials", "gilles"), "gilles:$2b$08$abc");
  // The key is asked lowercased, as smtpd asks every table (the column compares bytes).
  assertEquals(table.lookup("credentials", "Gilles"), "gilles:$2b$08$abc");
  assertEquals(table.lookup("alias", "STAFF"), "eric, gilles");
  assertEquals(table.lookup("userinfo", "nobody"), undefined);
  assertEquals(table.serves("domain"), false);
  assertThrows(
    () => table.match("domain", "example.org"),
    Error,
    `Table "mail" cannot be used for domain lookups: "${dir}/sqlite.conf" has no query_domain`,
  );
  assertThrows(() => table.keys(), Error, "cannot list its keys");
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SqliteTable.open() names the table and the file at fault", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/none.conf`),
    Error,
    `Cannot load table "t" from "${dir}/none.conf"`,
  );
  await Deno.writeTextFile(`${dir}/a.conf`, `dbpath ${dir}/missing.db\n`);
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/a.conf`),
    TableLoadError,
    `Cannot load table "t" from "${dir}/a.conf", line 1: cannot open "${dir}/missing.db": unable to open database file`,
  );
  new DatabaseSync(`${dir}/ok.db`).close();
  await Deno.writeTextFile(
    `${dir}/b.conf`,
    `# domains\ndbpath ok.db\n\nquery_domain SELECT x FROM nope\n`,
  );
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/b.conf`),
    TableLoadError,
    `Cannot load table "t" from "${dir}/b.conf", line 4: query_domain: no such table: nope`,
  );
  await Deno.writeTextFile(`${dir}/c.conf`, `dbpath ok.db\nquery_domain DELETE FROM x\n`);
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/c.conf`),
    TableLoadError,
    `Cannot load table "t" from "${dir}/c.conf", line 2: query_domain:`,
  );
  await Deno.writeTextFile(`${dir}/notdb`, "just some text, not a database\n".repeat(50));
  await Deno.writeTextFile(`${dir}/d.conf`, `\ndbpath notdb\nquery_domain SELECT 1\n`);
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/d.conf`),
    TableLoadError,
    `Cannot load table "t" from "${dir}/d.conf", line 2: cannot read "${dir}/notdb": `,
  );
  await Deno.writeTextFile(`${dir}/e.conf`, `dbpath ok.db\nquery_domain SELECT 1\nbogus 1\n`);
  await assertRejects(
    () => SqliteTable.open("t", `${dir}/e.conf`),
    TableLoadError,
    `Cannot load table "t" from "${dir}/e.conf", line 3: unknown key "bogus"`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseSqliteConfig() reports unknown, repeated and empty keys and a missing dbpath", () => {
  const refusal = (text: string) => {
    const e = assertThrows(
      () => parseSqliteConfig(text, "c"),
      TableContentError,
    ) as TableContentError;
    return [e.line, e.reason];
  };
  assertEquals(refusal("dbpath /x\nquery_foo SELECT 1\n"), [2, 'unknown key "query_foo"']);
  assertEquals(refusal("query_domain\n"), [1, '"query_domain" needs a value']);
  assertEquals(refusal("# empty\n"), [undefined, 'no "dbpath" is given']);
  assertEquals(refusal("dbpath a\n\ndbpath b\n"), [3, '"dbpath" is given again (first on line 1)']);
  assertEquals(refusal("dbpath a\nfoo bar\rbaz\n"), [2, 'unknown key "foo"']);
  assertEquals(
    parseSqliteConfig("dbpath db.sqlite\n", "/etc/mail/sqlite.conf").dbpath,
    "/etc/mail/db.sqlite",
  );
});
