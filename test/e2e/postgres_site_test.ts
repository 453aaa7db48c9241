// Two smtpd daemons sharing their tables in one PostgreSQL server, as MX nodes of one site
// do: changes are seen by both at the next RCPT, mail is delivered for database users,
// AUTH checks the database's credentials, and a database that stops or stalls means 4xx.

import postgres from "postgres";
import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { postgresMissing, startPostgres } from "../_databases.ts";
import {
  addUser,
  createSchema,
  type SiteNode,
  startSiteNode,
  USER_PASSWORD,
} from "../_sql_sites.ts";

const PASSWORD = "site-db-password";
const cert = await testCertificate("mx.example.test");
const missing = postgresMissing() ?? (cert ? undefined : "openssl is not installed");
if (missing) console.log(`postgres site tests skipped: ${missing}`);
const server = missing ? undefined : await startPostgres(PASSWORD);
const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pgsite-" });
await Deno.chmod(dir, 0o755);
const connect = () =>
  postgres({
    host: "127.0.0.1",
    port: server!.port,
    user: "postgres",
    password: PASSWORD,
    onnotice: () => {},
  });
let sql = server && connect();
const execute = (text: string, params: string[] = []) => sql!.unsafe(text, params);
const ph = (n: number) => `$${n}`;

const TABLE_CONF = `${dir}/tables-postgres.conf`;
const SLOW_CONF = `${dir}/tables-slow.conf`;
if (server) {
  await createSchema(execute);
  await execute("INSERT INTO domains VALUES ('example.test')");
  const conninfo = `conninfo host=127.0.0.1 port=${server.port} user=postgres ` +
    `password=${PASSWORD} dbname=postgres`;
  // table-postgres(5)'s example queries, unchanged.
  await Deno.writeTextFile(
    TABLE_CONF,
    `${conninfo}
query_domain SELECT domain FROM domains WHERE domain=$1;
query_alias SELECT destination FROM virtuals WHERE email=$1;
query_credentials SELECT email, password FROM credentials WHERE email=$1;
query_timeout 2s
`,
  );
  await Deno.writeTextFile(
    SLOW_CONF,
    `${conninfo}
query_domain SELECT domain FROM domains, pg_sleep(20) WHERE domain=$1;
query_alias SELECT destination FROM virtuals WHERE email=$1;
query_credentials SELECT email, password FROM credentials WHERE email=$1;
query_timeout 500ms
`,
  );
}

async function rcptReply(port: number, rcpt: string): Promise<string> {
  await using c = await SmtpTestClient.connect(port);
  await c.expect("220 ");
  await c.send("EHLO client.test");
  await c.expect("250 ");
  await c.send("MAIL FROM:<someone@far.test>");
  await c.expect("250 ");
  await c.send(`RCPT TO:<${rcpt}>`);
  const reply = await c.reply();
  await c.send("QUIT");
  return reply;
}

Deno.test({
  name: "two daemons sharing PostgreSQL tables see a user added and removed at the next RCPT",
  ignore: server === undefined,
  async fn() {
    const a = await startSiteNode(dir, "a", "postgres", TABLE_CONF, cert!);
    let b: SiteNode | undefined;
    try {
      b = await startSiteNode(dir, "b", "postgres", TABLE_CONF, cert!);
      for (const node of [a, b]) {
        assertStringIncludes(await rcptReply(node.port, "carol@example.test"), "550 ");
      }
      await addUser(execute, "carol@example.test", ph);
      for (const node of [a, b]) {
        assertStringIncludes(await rcptReply(node.port, "carol@example.test"), "250 ");
      }
      await execute("DELETE FROM virtuals WHERE email = 'carol@example.test'");
      for (const node of [a, b]) {
        assertStringIncludes(await rcptReply(node.port, "carol@example.test"), "550 ");
      }
    } finally {
      await b?.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "mail for a PostgreSQL virtual user and alias is delivered; AUTH checks its credentials",
  ignore: server === undefined,
  async fn() {
    await addUser(execute, "bob@example.test", ph);
    await execute("INSERT INTO virtuals VALUES ('abuse@example.test', 'bob@example.test')");
    const node = await startSiteNode(dir, "deliver", "postgres", TABLE_CONF, cert!);
    try {
      {
        await using c = await SmtpTestClient.connect(node.port);
        await c.expect("220 ");
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.startData("someone@far.test", ["abuse@example.test"]);
        await c.sendRaw("Subject: to abuse\r\n\r\nhello bob\r\n.\r\n");
        await c.expect("250 ");
      }
      // The alias leads to bob, whose entry names the vmail account; the Maildir is named
      // for the recipient as given (%{rcpt.user}).
      const mail = await waitFor("the message in the Maildir", async () => {
        const found = await readMaildir(`${node.mailDir}/abuse`).catch(() => []);
        return found.length > 0 ? found : undefined;
      }, 60_000).catch((e) => {
        throw new Error(`${e}: ${node.daemon.log()}`);
      });
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
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL stopped under load: RCPTs get 451, never 550 nor a hang, and 250 once it is back",
  ignore: server === undefined,
  async fn() {
    await addUser(execute, "dave@example.test", ph);
    const node = await startSiteNode(dir, "load", "postgres", TABLE_CONF, cert!);
    const codes: string[] = [];
    let stopping = false;
    let clients: Promise<void>[] = [];
    let passed = false;
    try {
      assertStringIncludes(await rcptReply(node.port, "dave@example.test"), "250 ");
      let slowest = 0;
      const client = async () => {
        while (!stopping) {
          const started = Date.now();
          codes.push((await rcptReply(node.port, "dave@example.test")).slice(0, 3));
          slowest = Math.max(slowest, Date.now() - started);
        }
      };
      clients = [client(), client(), client(), client()];
      await waitFor("a few answered RCPTs", () => codes.length >= 8 || undefined, 30_000);
      await sql!.end({ timeout: 1 });
      await server!.stop();
      const atStop = codes.length;
      await waitFor(
        "RCPTs answered while the database is down",
        () => codes.length >= atStop + 12 || undefined,
        60_000,
      );
      // A login while it is down is "try again later", not "wrong password".
      {
        await using s = await SmtpTestClient.connect(node.submission);
        await s.expect("220 ");
        await s.send("EHLO client.test");
        await s.expect("250 ");
        await s.send("STARTTLS");
        await s.expect("220 ");
        await s.startTls({ hostname: "mx.example.test", caCerts: [cert!.ca] });
        await s.send("EHLO client.test");
        await s.expect("250 ");
        await s.send(`AUTH PLAIN ${btoa(`\0dave@example.test\0${USER_PASSWORD}`)}`);
        await s.expect("454 4.7.0 ");
      }
      await server!.start();
      sql = connect();
      const atStart = codes.length;
      await waitFor(
        "a 250 once the database is back",
        () => codes.slice(atStart).includes("250") || undefined,
        60_000,
      );
      stopping = true;
      await Promise.all(clients);
      assertTrue(codes.includes("451"), `no 451 among ${codes.join(" ")}`);
      assertEquals(codes.filter((c) => c !== "250" && c !== "451"), [], codes.join(" "));
      // The deadline of a lookup is 2s; a reply never waits for the command timeout.
      assertTrue(slowest < 15_000, `a RCPT took ${slowest} ms`);
      const log = node.daemon.log();
      assertStringIncludes(log, "went away");
      assertStringIncludes(log, "is back after");
      passed = true;
    } finally {
      // The clients end before the daemon does: a failed step is reported as itself, not
      // as a client's refused connection once the daemon is gone.
      stopping = true;
      await Promise.allSettled(clients);
      if (!passed) console.log(`last codes: ${codes.slice(-200).join(" ")}\n${node.daemon.log()}`);
      await node.stop();
    }
  },
});

Deno.test({
  name: "a PostgreSQL query that sleeps past query_timeout gives a 451 at RCPT",
  ignore: server === undefined,
  async fn() {
    const node = await startSiteNode(dir, "slow", "postgres", SLOW_CONF, cert!);
    try {
      const started = Date.now();
      assertStringIncludes(await rcptReply(node.port, "bob@example.test"), "451 ");
      assertTrue(Date.now() - started < 15_000, "the RCPT was answered at the query's deadline");
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "postgres site tests: the server stops",
  ignore: server === undefined,
  async fn() {
    await sql?.end({ timeout: 1 }).catch(() => {});
    await server!.stop();
    await Deno.remove(server!.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});
