// An smtpd whose tables live in MariaDB, read with table-mysql(5)'s own configuration:
// mail is delivered for database users and aliases, AUTH checks the database's
// credentials, and a query that sleeps past its deadline means 451, not 550.

import mysql from "mysql2/promise";
import { assertStringIncludes, assertTrue } from "../assert.ts";
import { readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { MARIADB_ADMIN, mariadbMissing, startMariadb } from "../_databases.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import { addUser, createSchema, startSiteNode, USER_PASSWORD } from "../_sql_sites.ts";

const PASSWORD = "site db password";
const cert = await testCertificate("mx.example.test");
const missing = mariadbMissing() ?? (cert ? undefined : "openssl is not installed");
if (missing) console.log(`mysql site tests skipped: ${missing}`);
const server = missing ? undefined : await startMariadb();
const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mysite-" });
await Deno.chmod(dir, 0o755);
const db = server &&
  await mysql.createConnection({ host: "127.0.0.1", port: server.port, ...MARIADB_ADMIN });
const execute = (sql: string, params: string[] = []) => db!.execute(sql, params);
const ph = () => "?";

const TABLE_CONF = `${dir}/tables-mysql.conf`;
const SLOW_CONF = `${dir}/tables-slow.conf`;
if (server && db) {
  await db.query("CREATE DATABASE mail");
  await db.query(`CREATE USER 'smtpd'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`);
  await db.query("GRANT SELECT ON mail.* TO 'smtpd'@'127.0.0.1'");
  await db.query("USE mail");
  await createSchema(execute);
  await execute("INSERT INTO domains VALUES ('example.test')");
  await addUser(execute, "bob@example.test", ph);
  // A row whose name is not spelled as the login (the column compares ignoring case).
  await execute("INSERT INTO credentials VALUES (?, ?)", [
    "Carol@Example.test",
    hashPassword(USER_PASSWORD),
  ]);
  await execute("INSERT INTO virtuals VALUES ('abuse@example.test', 'bob@example.test')");
  // The sample mysql.conf of OpenSMTPD-extras, with this server's port.
  const connection = `host 127.0.0.1
port ${server.port}
username smtpd
password ${PASSWORD}
database mail
`;
  await Deno.writeTextFile(
    TABLE_CONF,
    `${connection}
query_alias		SELECT destination FROM virtuals WHERE email=?
query_domain		SELECT domain FROM domains WHERE domain=?;
query_credentials	SELECT email, password FROM credentials WHERE email=?;
query_timeout 2s
`,
  );
  await Deno.writeTextFile(
    SLOW_CONF,
    `${connection}
query_alias		SELECT destination FROM virtuals WHERE email=?
query_domain		SELECT domain FROM domains WHERE domain=? AND SLEEP(20) = 0;
query_credentials	SELECT email, password FROM credentials WHERE email=?;
query_timeout 500ms
`,
  );
}

Deno.test({
  name: "mail for a MariaDB virtual user and alias is delivered; AUTH checks its credentials",
  ignore: server === undefined,
  async fn() {
    const node = await startSiteNode(dir, "deliver", "mysql", TABLE_CONF, cert!);
    try {
      {
        await using c = await SmtpTestClient.connect(node.port);
        await c.expect("220 ");
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.send("MAIL FROM:<someone@far.test>");
        await c.expect("250 ");
        await c.send("RCPT TO:<nobody@example.test>");
        await c.expect("550 ");
        await c.send("RCPT TO:<abuse@example.test>");
        await c.expect("250 ");
        await c.send("DATA");
        await c.expect("354 ");
        await c.sendRaw("Subject: to abuse\r\n\r\nhello bob\r\n.\r\n");
        await c.expect("250 ");
      }
      const mail = await waitFor("the message in the Maildir", async () => {
        const found = await readMaildir(`${node.mailDir}/abuse`).catch(() => []);
        return found.length > 0 ? found : undefined;
      }, 60_000);
      assertStringIncludes(mail[0]!.text, "hello bob");
      assertStringIncludes(node.daemon.log(), "to=<abuse@example.test> user=bob@example.test");
      await using s = await SmtpTestClient.connect(node.submission);
      await s.expect("220 ");
      await s.send("EHLO client.test");
      await s.expect("250 ");
      await s.send("STARTTLS");
      await s.expect("220 ");
      await s.startTls({ hostname: "mx.example.test", caCerts: [cert!.ca] });
      await s.send("EHLO client.test");
      await s.expect("250 ");
      await s.send(`AUTH PLAIN ${btoa("\0bob@example.test\0wrong")}`);
      await s.expect("535 ");
      await s.send(`AUTH PLAIN ${btoa(`\0bob@example.test\0${USER_PASSWORD}`)}`);
      await s.expect("235 ");
      await using carol = await SmtpTestClient.connect(node.submission);
      await carol.expect("220 ");
      await carol.send("EHLO client.test");
      await carol.expect("250 ");
      await carol.send("STARTTLS");
      await carol.expect("220 ");
      await carol.startTls({ hostname: "mx.example.test", caCerts: [cert!.ca] });
      await carol.send("EHLO client.test");
      await carol.expect("250 ");
      await carol.send(`AUTH PLAIN ${btoa(`\0carol@example.test\0${USER_PASSWORD}`)}`);
      await carol.expect("235 ");
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "a MariaDB query that sleeps past query_timeout gives a 451 at RCPT",
  ignore: server === undefined,
  async fn() {
    const node = await startSiteNode(dir, "slow", "mysql", SLOW_CONF, cert!);
    try {
      await using c = await SmtpTestClient.connect(node.port);
      await c.expect("220 ");
      await c.send("EHLO client.test");
      await c.expect("250 ");
      await c.send("MAIL FROM:<someone@far.test>");
      await c.expect("250 ");
      const started = Date.now();
      await c.send("RCPT TO:<bob@example.test>");
      await c.expect("451 ");
      assertTrue(Date.now() - started < 15_000, "the RCPT was answered at the query's deadline");
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "mysql site tests: the server stops",
  ignore: server === undefined,
  async fn() {
    await db?.end().catch(() => {});
    await server!.stop();
    await Deno.remove(server!.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});
