// The end-to-end story of a site whose users live in a shared server (Redis or LDAP): the
// daemon reads domains, virtual users, aliases, userinfo and credentials from it, sees
// changes at the next RCPT, answers 451 while the server is away or frozen past the query
// deadline, and recovers by itself.

import { loadConfig, startDaemon } from "../../mod.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import { createLogger } from "../../src/log/mod.ts";
import { assertEquals } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import type { TestServer } from "../_kv_servers.ts";

/** What the story needs of a backend: its table file, and the users it stores. */
export interface KvSite {
  readonly backend: "redis" | "ldap";
  readonly server: TestServer;
  /** The lines of the table file serving domain, alias, userinfo and credentials. */
  readonly tableLines: readonly string[];
  /** Stores a domain. */
  addDomain(domain: string): Promise<void>;
  /** Stores a virtual address and what it expands to (users or addresses). */
  addVirtual(address: string, targets: readonly string[]): Promise<void>;
  /** Stores a user: uid, gid and home for userinfo, and a password hash for credentials. */
  addUser(user: string, uid: string, gid: string, home: string, hash: string): Promise<void>;
}

async function rcpt(client: SmtpTestClient, address: string): Promise<string> {
  await client.send(`RCPT TO:<${address}>`);
  return await client.reply();
}

/** Registers the end-to-end tests for one backend; `makeSite` starts its server. */
export function kvSiteTests(backend: string, makeSite: () => Promise<KvSite>): void {
  Deno.test(`${backend} tables: virtual users, aliases and credentials deliver mail; changes are seen at once; a stopped or frozen server gives 451 and service returns`, async () => {
    const certificate = await testCertificate("localhost");
    if (!certificate) {
      console.log(`${backend} end-to-end test skipped: openssl is not installed`);
      return;
    }
    const site = await makeSite();
    const dir = await Deno.makeTempDir({ prefix: `smtpd-${backend}-` });
    let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
    const log: string[] = [];
    let passed = false;
    try {
      const [uid, gid] = OWN_IDS.split(":") as [string, string];
      await site.addDomain("example.test");
      await site.addUser("alice", uid, gid, "/nonexistent", hashPassword("alice-pw"));
      await site.addUser("bob", uid, gid, "/nonexistent", hashPassword("bob-pw"));
      await site.addVirtual("alice@example.test", ["alice"]);
      await site.addVirtual("sales@example.test", ["alice", "bob"]);
      await Deno.writeTextFile(`${dir}/cert.pem`, certificate.cert);
      await Deno.writeTextFile(`${dir}/key.pem`, certificate.key);
      await Deno.writeTextFile(`${dir}/shared.conf`, site.tableLines.join("\n") + "\n");
      const port = freePort();
      const t = `${site.backend}:${dir}/shared.conf`;
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `pki localhost cert "${dir}/cert.pem"
pki localhost key "${dir}/key.pem"
queue path "${dir}/queue"
table domains ${t}
table virtuals ${t}
table users ${t}
table creds ${t}
listen on 127.0.0.1 port ${port} tls pki localhost auth-optional <creds> hostname mx.example.test
action "local" maildir "${dir}/mail/%{user.username}/Maildir" virtual <virtuals> userbase <users>
match from any for domain <domains> action "local"
`,
      );
      daemon = await startDaemon({
        config: await loadConfig(`${dir}/smtpd.conf`),
        log: createLogger({ sink: (line) => log.push(line) }),
      });

      const session = async () => {
        const c = await SmtpTestClient.connect(port);
        await c.expect("220 ");
        await c.send("EHLO client.test");
        await c.expect("250 ");
        return c;
      };
      {
        await using c = await session();
        await c.send("STARTTLS");
        await c.expect("220 ");
        await c.startTls({ hostname: "localhost", caCerts: [certificate.ca] });
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.send(`AUTH PLAIN ${btoa("\0alice\0wrong")}`);
        await c.expect("535 ");
        await c.send(`AUTH PLAIN ${btoa("\0alice\0alice-pw")}`);
        await c.expect("235 ");
        await c.send("MAIL FROM:<someone@far.test>");
        await c.expect("250 ");
        assertEquals((await rcpt(c, "alice@example.test")).slice(0, 3), "250");
        assertEquals((await rcpt(c, "sales@example.test")).slice(0, 3), "250");
        assertEquals((await rcpt(c, "nobody@example.test")).slice(0, 3), "550");
        assertEquals((await rcpt(c, "carol@example.test")).slice(0, 3), "550");
        // carol is added while the daemon runs: the next RCPT finds her.
        await site.addUser("carol", uid, gid, "/nonexistent", hashPassword("carol-pw"));
        await site.addVirtual("carol@example.test", ["carol"]);
        assertEquals((await rcpt(c, "carol@example.test")).slice(0, 3), "250");
        await c.send("DATA");
        await c.expect("354 ");
        await c.sendRaw(`Subject: shared tables\r\n\r\nfrom ${backend}\r\n.\r\n`);
        await c.expect("250 ");
      }
      for (const [user, count] of [["alice", 2], ["bob", 1], ["carol", 1]] as const) {
        const mail = await waitFor(`${user}'s mail`, async () => {
          const files = await readMaildir(`${dir}/mail/${user}/Maildir`);
          return files.length >= count ? files : undefined;
        }, 60_000);
        assertEquals(mail.length, count, user);
        assertEquals(mail[0]!.text.includes(`from ${backend}`), true);
      }

      // The server stopped under load: every RCPT answers 451 (never 550), within the
      // command timeout; once it is back, RCPTs are accepted again without a reload.
      const clients = await Promise.all([1, 2, 3, 4].map(() => session()));
      for (const c of clients) {
        await c.send("MAIL FROM:<someone@far.test>");
        await c.expect("250 ");
      }
      await site.server.stop();
      const replies = await Promise.all(clients.map(async (c) => {
        const started = Date.now();
        const reply = await rcpt(c, "alice@example.test");
        return { code: reply.slice(0, 3), ms: Date.now() - started };
      }));
      for (const { code, ms } of replies) {
        assertEquals(code, "451", `RCPT while ${backend} is down`);
        assertEquals(ms < 60_000, true, `answered in ${ms} ms`);
      }
      await site.server.start();
      await waitFor(`RCPT to be accepted once ${backend} is back`, async () => {
        const code = (await rcpt(clients[0]!, "alice@example.test")).slice(0, 3);
        if (code !== "250" && code !== "451") throw new Error(`RCPT gave ${code}`);
        return code === "250" ? true : undefined;
      }, 60_000);
      // A server that stops answering mid-query (frozen by SIGSTOP, as a query sleeping
      // past the deadline): the RCPT answers 451 at the table's query_timeout, not 550 and
      // not a hang, and 250 again once the server runs.
      try {
        await site.server.pause();
        const asked = Date.now();
        const code = (await rcpt(clients[1]!, "sales@example.test")).slice(0, 3);
        assertEquals(code, "451", `RCPT while ${backend} does not answer`);
        assertEquals(Date.now() - asked < 60_000, true, "answered at the deadline");
      } finally {
        site.server.resume();
      }
      await waitFor(`RCPT to be accepted once ${backend} answers again`, async () => {
        const code = (await rcpt(clients[1]!, "sales@example.test")).slice(0, 3);
        if (code !== "250" && code !== "451") throw new Error(`RCPT gave ${code}`);
        return code === "250" ? true : undefined;
      }, 60_000);
      for (const c of clients) await c[Symbol.asyncDispose]();
      const said = (what: string) => log.filter((l) => l.includes(what)).length;
      assertEquals(said(`table: "domains": ${backend} `) >= 2, true, "the table's log lines");
      assertEquals(
        said(" went away: "),
        said(" is back after "),
        "each going away is followed by a return",
      );
      passed = true;
    } finally {
      if (!passed) console.log(log.join("\n"));
      await daemon?.stop();
      await site.server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}
