// The `postgres:` backend against a real PostgreSQL server started for this file.
import postgres from "postgres";
import { assertEquals, assertRejects } from "../../test/assert.ts";
import { type DatabaseServer, postgresMissing, startPostgres } from "../../test/_databases.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { openPostgresTable } from "./postgres.ts";
import { withTableLookups } from "./network/lookup_scope.ts";

const PASSWORD = "s3cret 'quoted'";
const missing = postgresMissing();
if (missing) console.log(`postgres tests skipped: ${missing}`);
const server: DatabaseServer | undefined = missing ? undefined : await startPostgres(PASSWORD);
const admin = server &&
  postgres({
    host: "127.0.0.1",
    port: server.port,
    user: "postgres",
    password: PASSWORD,
    onnotice: () => {},
  });
const dir = await Deno.makeTempDir();
const conninfo = server
  ? `host=127.0.0.1 port=${server.port} user=postgres password='s3cret \\'quoted\\'' dbname=postgres`
  : "";

const LIST_QUERIES = ["domain", "mailaddr", "netaddr", "source"];
const MAP_QUERIES = ["alias", "credentials", "userinfo", "mailaddrmap", "addrname"];
let tables = 0;

async function writeConfig(name: string, lines: string[]): Promise<string> {
  const path = `${dir}/${name}.conf`;
  await Deno.writeTextFile(path, [`conninfo ${conninfo}`, ...lines].join("\n") + "\n");
  return path;
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: server === undefined, fn });

if (server && admin) {
  runTableContract("postgres", async (name, contents: ContractContents) => {
    const sqlName = `contract_${name}_${++tables}`;
    await admin.unsafe(`CREATE TABLE ${sqlName} (k TEXT NOT NULL, v TEXT NOT NULL)`);
    for (const [k, v] of contents.entries) {
      await admin.unsafe(`INSERT INTO ${sqlName} VALUES ($1, $2)`, [k, v]);
    }
    const column = contents.shape === "list" ? "k" : "v";
    const services = contents.shape === "list" ? LIST_QUERIES : MAP_QUERIES;
    const path = await writeConfig(
      sqlName,
      services.map((s) =>
        `query_${s} SELECT ${column} FROM ${sqlName} WHERE lower(k) = lower($1);`
      ),
    );
    return await openPostgresTable(name, path);
  }, { listsKeys: false, senderMaps: true });
}

test("postgres table: rows added and removed are seen by the next lookup", async () => {
  await admin!.unsafe("CREATE TABLE live (email TEXT, destination TEXT)");
  const path = await writeConfig("live", [
    "query_alias SELECT destination FROM live WHERE email = $1",
    "query_mailaddr SELECT email FROM live WHERE email = $1",
  ]);
  const table = await openPostgresTable("live", path);
  try {
    assertEquals(await withTableLookups(() => table.lookup("alias", "bob@example.org")), undefined);
    await admin!.unsafe("INSERT INTO live VALUES ('bob@example.org', 'vmail')");
    assertEquals(await withTableLookups(() => table.lookup("alias", "bob@example.org")), "vmail");
    assertEquals(await withTableLookups(() => table.match("mailaddr", "Bob@Example.org")), true);
    await admin!.unsafe("DELETE FROM live");
    assertEquals(await withTableLookups(() => table.match("mailaddr", "bob@example.org")), false);
  } finally {
    await table.close();
  }
});

test("postgres table: the key is asked lowercased, as smtpd asks every table", async () => {
  await admin!.unsafe("CREATE TABLE logins (email TEXT, password TEXT)");
  await admin!.unsafe("INSERT INTO logins VALUES ('alice@example.org', 'hash')");
  const path = await writeConfig("logins", [
    "query_credentials SELECT email, password FROM logins WHERE email = $1",
  ]);
  const table = await openPostgresTable("logins", path);
  try {
    assertEquals(
      await withTableLookups(() => table.lookup("credentials", "Alice@Example.org")),
      "alice@example.org:hash",
    );
  } finally {
    await table.close();
  }
});

test("postgres table: a query past query_timeout fails the lookup and is cancelled", async () => {
  const path = await writeConfig("slow", [
    "query_domain SELECT $1::text FROM pg_sleep(30)",
    "query_timeout 300ms",
  ]);
  const table = await openPostgresTable("slow", path);
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

test("openPostgresTable() names the file and line of a bad configuration", async () => {
  await Deno.writeTextFile(`${dir}/bad.conf`, `conninfo host=x sslmode=maybe\n`);
  await assertRejects(
    () => openPostgresTable("t", `${dir}/bad.conf`),
    Error,
    'conninfo: unknown sslmode "maybe"',
  );
  await Deno.writeTextFile(`${dir}/bad2.conf`, `conninfo host=x\nquery_domian SELECT 1\n`);
  await assertRejects(
    () => openPostgresTable("t", `${dir}/bad2.conf`),
    Error,
    'unknown key "query_domian"',
  );
  await Deno.writeTextFile(`${dir}/bad3.conf`, `query_domain SELECT 1\n`);
  await assertRejects(
    () => openPostgresTable("t", `${dir}/bad3.conf`),
    Error,
    'no "conninfo" is given',
  );
});

test("postgres server stopped: lookups fail at once, and succeed again once it is back", async () => {
  await admin!.unsafe("CREATE TABLE doms (d TEXT)");
  await admin!.unsafe("INSERT INTO doms VALUES ('example.org')");
  const path = await writeConfig("doms", ["query_domain SELECT d FROM doms WHERE d = $1"]);
  const lines: string[] = [];
  const log = { warn: (l: string) => lines.push(l), info: (l: string) => lines.push(l) };
  const table = await openPostgresTable("doms", path, { log });
  const ask = async () => await withTableLookups(() => table.match("domain", "example.org"));
  try {
    assertEquals(await ask(), true);
    await admin!.end();
    await server!.stop();
    await assertRejects(ask, Error, "postgres 127.0.0.1");
    assertEquals(lines.filter((l) => l.includes("went away")).length, 1, lines.join("\n"));
    await server!.start();
    // Probes are spaced by backoff: the first answer may take a few seconds.
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
  name: "postgres tests: the server stops",
  ignore: server === undefined,
  async fn() {
    await admin?.end({ timeout: 1 }).catch(() => {});
    await server!.stop();
    await Deno.remove(server!.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});
