// The `mysql:` backend against a real MariaDB server started for this file.
import mysql from "mysql2/promise";
import { assertEquals, assertRejects } from "../../test/assert.ts";
import {
  type DatabaseServer,
  MARIADB_ADMIN,
  mariadbMissing,
  startMariadb,
} from "../../test/_databases.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { openMysqlTable } from "./mysql.ts";
import { withTableLookups } from "./network/lookup_scope.ts";

const PASSWORD = "s3cret pass";
const missing = mariadbMissing();
if (missing) console.log(`mysql tests skipped: ${missing}`);
const server: (DatabaseServer & { socket: string }) | undefined = missing
  ? undefined
  : await startMariadb();
let admin: mysql.Connection | undefined;
if (server) {
  admin = await mysql.createConnection({ host: "127.0.0.1", port: server.port, ...MARIADB_ADMIN });
  await admin.query("CREATE DATABASE mail");
  await admin.query(`CREATE USER 'smtpd'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`);
  await admin.query("GRANT ALL ON mail.* TO 'smtpd'@'127.0.0.1'");
  await admin.query("USE mail");
}
const dir = await Deno.makeTempDir();

const LIST_QUERIES = ["domain", "mailaddr", "netaddr", "source"];
const MAP_QUERIES = ["alias", "credentials", "userinfo", "mailaddrmap", "addrname"];
let tables = 0;

// table-mysql(5)'s own keys, with the port of this file's server.
async function writeConfig(name: string, lines: string[]): Promise<string> {
  const path = `${dir}/${name}.conf`;
  const connection = [
    "host 127.0.0.1",
    `port ${server!.port}`,
    "username smtpd",
    `password ${PASSWORD}`,
    "database mail",
  ];
  await Deno.writeTextFile(path, [...connection, ...lines].join("\n") + "\n");
  return path;
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: server === undefined, fn });

if (server) {
  runTableContract("mysql", async (name, contents: ContractContents) => {
    const sqlName = `contract_${name}_${++tables}`;
    await admin!.query(`CREATE TABLE ${sqlName} (k VARCHAR(255) NOT NULL, v TEXT NOT NULL)`);
    for (const [k, v] of contents.entries) {
      await admin!.execute(`INSERT INTO ${sqlName} VALUES (?, ?)`, [k, v]);
    }
    const column = contents.shape === "list" ? "k" : "v";
    const services = contents.shape === "list" ? LIST_QUERIES : MAP_QUERIES;
    const path = await writeConfig(
      sqlName,
      services.map((s) => `query_${s} SELECT ${column} FROM ${sqlName} WHERE k = ?;`),
    );
    return await openMysqlTable(name, path);
  }, { listsKeys: false, senderMaps: true });
}

test("mysql table: rows added and removed are seen by the next lookup", async () => {
  await admin!.query("CREATE TABLE live (email VARCHAR(255), destination VARCHAR(255))");
  const path = await writeConfig("live", [
    "query_alias SELECT destination FROM live WHERE email=?",
    "query_credentials: SELECT email, destination FROM live WHERE email=?",
  ]);
  const table = await openMysqlTable("live", path);
  try {
    assertEquals(await withTableLookups(() => table.lookup("alias", "bob@example.org")), undefined);
    await admin!.query("INSERT INTO live VALUES ('bob@example.org', 'vmail')");
    assertEquals(await withTableLookups(() => table.lookup("alias", "bob@example.org")), "vmail");
    assertEquals(
      await withTableLookups(() => table.lookup("credentials", "bob@example.org")),
      "bob@example.org:vmail",
    );
    await admin!.query("DELETE FROM live");
    assertEquals(await withTableLookups(() => table.lookup("alias", "bob@example.org")), undefined);
  } finally {
    await table.close();
  }
});

test("mysql table: the key is asked lowercased, as smtpd asks every table", async () => {
  // A column that compares bytes: only the lowercased login finds the row.
  await admin!.query("CREATE TABLE logins (email VARBINARY(255), password VARCHAR(255))");
  await admin!.query("INSERT INTO logins VALUES ('alice@example.org', 'hash')");
  const path = await writeConfig("logins", [
    "query_credentials SELECT email, password FROM logins WHERE email=?",
  ]);
  const table = await openMysqlTable("logins", path);
  try {
    assertEquals(
      await withTableLookups(() => table.lookup("credentials", "Alice@Example.org")),
      "alice@example.org:hash",
    );
  } finally {
    await table.close();
  }
});

test("mysql table: a query past query_timeout fails the lookup", async () => {
  const path = await writeConfig("slow", [
    "query_domain SELECT ? FROM (SELECT SLEEP(30)) AS s",
    "query_timeout 300ms",
  ]);
  const table = await openMysqlTable("slow", path);
  try {
    const started = Date.now();
    await assertRejects(
      async () => await withTableLookups(() => table.match("domain", "example.org")),
      Error,
      "did not answer within 300 ms",
    );
    assertEquals(Date.now() - started < 10_000, true, "the lookup gave up at its deadline");
  } finally {
    await table.close();
  }
});

test("openMysqlTable() names the line of a bad key", async () => {
  await Deno.writeTextFile(`${dir}/bad.conf`, `host x\nport nine\n`);
  await assertRejects(() => openMysqlTable("t", `${dir}/bad.conf`), Error, 'port: "nine"');
  await Deno.writeTextFile(`${dir}/bad2.conf`, `host x\nuser smtpd\n`);
  await assertRejects(() => openMysqlTable("t", `${dir}/bad2.conf`), Error, 'unknown key "user"');
});

test("mysql server stopped: lookups fail at once, and succeed again once it is back", async () => {
  await admin!.query("CREATE TABLE doms (d VARCHAR(255))");
  await admin!.query("INSERT INTO doms VALUES ('example.org')");
  const path = await writeConfig("doms", ["query_domain SELECT d FROM doms WHERE d = ?"]);
  const lines: string[] = [];
  const log = { warn: (l: string) => lines.push(l), info: (l: string) => lines.push(l) };
  const table = await openMysqlTable("doms", path, { log });
  const ask = async () => await withTableLookups(() => table.match("domain", "example.org"));
  try {
    assertEquals(await ask(), true);
    await admin!.end();
    await server!.stop();
    await assertRejects(ask, Error, "mysql 127.0.0.1");
    assertEquals(lines.filter((l) => l.includes("went away")).length, 1, lines.join("\n"));
    await server!.start();
    const deadline = Date.now() + 30_000;
    let answer: boolean | undefined;
    while (answer === undefined && Date.now() < deadline) {
      answer = await ask().catch(() => undefined);
      if (answer === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(answer, true);
    assertEquals(lines.filter((l) => l.includes("is back after")).length, 1, lines.join("\n"));
  } finally {
    await table.close();
  }
});

Deno.test({
  name: "mysql tests: the server stops",
  ignore: server === undefined,
  async fn() {
    await server!.stop();
    await Deno.remove(server!.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});
