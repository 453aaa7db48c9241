// Lookups per second and RCPT latency with tables in PostgreSQL, MariaDB, Redis and LDAP,
// beside the same entries in a `db:` file, in one run. Starts its own servers on 127.0.0.1
// (as root: they run as their system users) and stops them at the end.
//
//   deno run -A bench/network_tables.ts [--users N] [--lookups N] [--rcpts N]

import postgres from "postgres";
import mysql from "mysql2/promise";
import { DbTable, type Table, withTableLookups, writeDbTable } from "../src/tables/mod.ts";
import { openPostgresTable } from "../src/tables/postgres.ts";
import { openMysqlTable } from "../src/tables/mysql.ts";
import { openRedisTable } from "../src/tables/redis.ts";
import { openLdapTable } from "../src/tables/ldap.ts";
import {
  MARIADB_ADMIN,
  mariadbMissing,
  postgresMissing,
  startMariadb,
  startPostgres,
} from "../test/_databases.ts";
import {
  kvServersMissing,
  LDAP_ADMIN,
  LDAP_PASSWORD,
  LDAP_SUFFIX,
  REDIS_PASSWORD,
  startRedis,
  startSlapd,
} from "../test/_kv_servers.ts";
import {
  freePort,
  OWN_IDS,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitListening,
} from "../test/_helpers.ts";

const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(Deno.args[i + 1]);
};
const USERS = arg("users", 10_000);
const LOOKUPS = arg("lookups", 20_000);
const RCPTS = arg("rcpts", 2_000);
const CONCURRENCY = 32;

const missing = postgresMissing() ?? mariadbMissing() ?? kvServersMissing();
if (missing) {
  console.log(`network table bench not run: ${missing}`);
  Deno.exit(0);
}
const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "netbench-" });
await Deno.chmod(dir, 0o755);
const emails = Array.from({ length: USERS }, (_, i) => `user${i}@example.test`);

// The same virtual users in the three places.
const pg = await startPostgres("bench");
const pgAdmin = postgres({ host: "127.0.0.1", port: pg.port, user: "postgres", password: "bench" });
await pgAdmin.unsafe("CREATE TABLE virtuals (email TEXT PRIMARY KEY, destination TEXT)");
await pgAdmin.unsafe("CREATE TABLE domains (domain TEXT PRIMARY KEY)");
await pgAdmin.unsafe("INSERT INTO domains VALUES ('example.test')");
await pgAdmin.unsafe(
  "INSERT INTO virtuals SELECT 'user' || i || '@example.test', 'vmail' FROM generate_series(0, $1::int - 1) i",
  [String(USERS)],
);
await pgAdmin.end();
const my = await startMariadb();
const myAdmin = await mysql.createConnection({
  host: "127.0.0.1",
  port: my.port,
  ...MARIADB_ADMIN,
});
await myAdmin.query("CREATE DATABASE mail");
await myAdmin.query("CREATE USER 'smtpd'@'127.0.0.1' IDENTIFIED BY 'bench'");
await myAdmin.query("GRANT SELECT ON mail.* TO 'smtpd'@'127.0.0.1'");
await myAdmin.query("USE mail");
await myAdmin.query("CREATE TABLE virtuals (email VARCHAR(255) PRIMARY KEY, destination TEXT)");
await myAdmin.query("CREATE TABLE domains (domain VARCHAR(255) PRIMARY KEY)");
await myAdmin.query("INSERT INTO domains VALUES ('example.test')");
for (let i = 0; i < USERS; i += 1000) {
  const rows = emails.slice(i, i + 1000).map((e) => [e, "vmail"]);
  await myAdmin.query("INSERT INTO virtuals VALUES ?", [rows]);
}
await myAdmin.end();
const redis = await startRedis();
await redis.cli("SADD", "domains", "example.test");
for (let i = 0; i < USERS; i += 1000) {
  await redis.cli("MSET", ...emails.slice(i, i + 1000).flatMap((e) => [`virtual:${e}`, "vmail"]));
}
const slapd = await startSlapd();
const base = `ou=mail,${LDAP_SUFFIX}`;
await slapd.add(
  [
    `dn: ${base}\nobjectClass: organizationalUnit\nou: mail\n`,
    `dn: cn=example.test,${base}\nobjectClass: organizationalRole\nobjectClass: domainRelatedObject\n` +
    `cn: example.test\nassociatedDomain: example.test\n`,
    ...emails.map((e) =>
      `dn: cn=${e},${base}\nobjectClass: nisMailAlias\ncn: ${e}\nrfc822MailMember: vmail\n`
    ),
  ].join("\n"),
);
await writeDbTable(`${dir}/virtuals.db`, {
  shape: "map",
  entries: emails.map((e) => [e, "vmail"] as [string, string]),
});
await writeDbTable(`${dir}/domains.db`, {
  shape: "list",
  entries: [["example.test", "example.test"]],
});

const confs = {
  postgres: `${dir}/pg.conf`,
  mysql: `${dir}/my.conf`,
  redis: `${dir}/redis.conf`,
  ldap: `${dir}/ldap.conf`,
};
await Deno.writeTextFile(
  confs.redis,
  `master 127.0.0.1
master_port ${redis.port}
password ${REDIS_PASSWORD}
query_alias GET virtual:%s
query_domain SISMEMBER domains %s
pool_size 8
`,
);
await Deno.writeTextFile(
  confs.ldap,
  `url ldap://127.0.0.1:${slapd.port}
username ${LDAP_ADMIN}
password ${LDAP_PASSWORD}
basedn ${base}
alias_filter (&(objectClass=nisMailAlias)(cn=%s))
alias_attributes rfc822MailMember
domain_filter (&(objectClass=domainRelatedObject)(associatedDomain=%s))
domain_attributes associatedDomain
pool_size 8
`,
);
await Deno.writeTextFile(
  confs.postgres,
  `conninfo host=127.0.0.1 port=${pg.port} user=postgres password=bench dbname=postgres
query_alias SELECT destination FROM virtuals WHERE email=$1
query_domain SELECT domain FROM domains WHERE domain=$1
pool_size 8
`,
);
await Deno.writeTextFile(
  confs.mysql,
  `host 127.0.0.1
port ${my.port}
username smtpd
password bench
database mail
query_alias SELECT destination FROM virtuals WHERE email=?
query_domain SELECT domain FROM domains WHERE domain=?
pool_size 8
`,
);

async function lookupRate(table: Table, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < LOOKUPS) {
      const key = emails[(next++ * 7919) % USERS]!;
      const value = await withTableLookups(() => table.lookup("alias", key));
      if (value !== "vmail") throw new Error(`lookup of ${key} gave ${value}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return LOOKUPS / ((performance.now() - started) / 1000);
}

async function rcptLatency(backend: string, conf: string, dbFile?: string) {
  const port = freePort();
  const tables = dbFile
    ? `table domains db:${dir}/domains.db\ntable virtuals db:${dbFile}`
    : `table domains ${backend}:${conf}\ntable virtuals ${backend}:${conf}`;
  await Deno.writeTextFile(
    `${dir}/${backend}-smtpd.conf`,
    `queue path "${dir}/${backend}-queue"
${tables}
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "vmail" maildir "${dir}/mail/%{rcpt.user}" virtual <virtuals> userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain <domains> action "vmail"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/${backend}-smtpd.conf`);
  await waitListening(port, 60_000);
  const times: number[] = [];
  {
    await using c = await SmtpTestClient.connect(port);
    await c.expect("220 ");
    await c.send("EHLO bench.test");
    await c.expect("250 ");
    await c.send("MAIL FROM:<bench@far.test>");
    await c.expect("250 ");
    for (let i = 0; i < RCPTS; i++) {
      // RSET keeps the transaction under the recipient limit.
      if (i % 90 === 89) {
        await c.send("RSET");
        await c.expect("250 ");
        await c.send("MAIL FROM:<bench@far.test>");
        await c.expect("250 ");
      }
      const started = performance.now();
      await c.send(`RCPT TO:<${emails[(i * 7919) % USERS]}>`);
      await c.expect("250 ");
      times.push(performance.now() - started);
    }
  }
  daemon.child.kill("SIGTERM");
  await daemon.exited();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const rows: string[] = [];
const tables: [string, Table][] = [
  ["db", DbTable.open("virtuals", `${dir}/virtuals.db`)],
  ["postgres", await openPostgresTable("virtuals", confs.postgres)],
  ["mysql", await openMysqlTable("virtuals", confs.mysql)],
  ["redis", await openRedisTable("virtuals", confs.redis)],
  ["ldap", await openLdapTable("virtuals", confs.ldap)],
];
for (const [backend, table] of tables) {
  await lookupRate(table, 1); // warm-up: connections opened, code compiled
  const serial = await lookupRate(table, 1);
  const parallel = await lookupRate(table, CONCURRENCY);
  await table.close?.();
  const rcpt = backend === "db"
    ? await rcptLatency("db", "", `${dir}/virtuals.db`)
    : await rcptLatency(backend, confs[backend as keyof typeof confs]);
  rows.push(
    `| ${backend} | ${serial.toFixed(0)} | ${parallel.toFixed(0)} | ` +
      `${rcpt.p50.toFixed(2)} | ${rcpt.p99.toFixed(2)} |`,
  );
}
console.log(`${USERS} users, ${LOOKUPS} alias lookups, ${RCPTS} RCPTs in one session\n`);
console.log(
  "| table | lookups/s, 1 at a time | lookups/s, 32 at once | RCPT p50 ms | RCPT p99 ms |",
);
console.log(
  "| ----- | ---------------------- | --------------------- | ----------- | ----------- |",
);
for (const row of rows) console.log(row);
await pg.stop();
await my.stop();
await redis[Symbol.asyncDispose]();
await slapd[Symbol.asyncDispose]();
await Deno.remove(pg.dir, { recursive: true });
await Deno.remove(my.dir, { recursive: true });
await Deno.remove(dir, { recursive: true });
