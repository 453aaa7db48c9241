// Tables on a server, read by the separated SMTP front under its own Deno permissions:
// a MariaDB reached through its unix socket (`socket PATH`) and an ldaps:// directory
// whose CA comes from `ca_file`. Skipped, with the reason printed, when not root, without
// setpriv, or without the servers.

import mysql from "mysql2/promise";
import {
  freePort,
  OWN_IDS,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitListening,
} from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { MARIADB_ADMIN, mariadbMissing, startMariadb } from "../_databases.ts";
import {
  kvServersMissing,
  LDAP_ADMIN,
  LDAP_PASSWORD,
  LDAP_SUFFIX,
  startSlapd,
} from "../_kv_servers.ts";
import { ensureFrontUser, skipReason } from "./_privsep.ts";

const DB_PASSWORD = "socket db password";

Deno.test("separated, the front reads a mysql table over its socket and an ldaps table with ca_file", async () => {
  const cert = await testCertificate("127.0.0.1");
  const skip = skipReason() ?? mariadbMissing() ?? kvServersMissing() ??
    (cert ? undefined : "openssl is not installed") ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privsep network tables test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "smtpd-privsep-net-" });
  await Deno.chmod(dir, 0o755);
  const db = await startMariadb();
  await using slapd = await startSlapd({ tls: cert! });
  try {
    // The front's user reaches the socket: the server's directory is searchable.
    await Deno.chmod(db.dir, 0o755);
    const admin = await mysql.createConnection({
      host: "127.0.0.1",
      port: db.port,
      ...MARIADB_ADMIN,
    });
    await admin.query("CREATE DATABASE mail");
    await admin.query(`CREATE USER 'smtpd'@'localhost' IDENTIFIED BY '${DB_PASSWORD}'`);
    await admin.query("GRANT SELECT ON mail.* TO 'smtpd'@'localhost'");
    await admin.query("CREATE TABLE mail.domains (domain VARCHAR(255))");
    await admin.query("INSERT INTO mail.domains VALUES ('sql.example.test')");
    await admin.end();
    await slapd.add(
      `dn: cn=ldap.example.test,${LDAP_SUFFIX}\nobjectClass: organizationalRole\n` +
        `objectClass: domainRelatedObject\ncn: ldap.example.test\nassociatedDomain: ldap.example.test\n`,
    );
    await Deno.writeTextFile(`${dir}/ca.pem`, cert!.ca);
    await Deno.writeTextFile(
      `${dir}/mysql.conf`,
      `socket ${db.socket}\nusername smtpd\npassword ${DB_PASSWORD}\ndatabase mail\n` +
        "query_domain SELECT domain FROM domains WHERE domain=?\nquery_timeout 5s\n",
    );
    await Deno.writeTextFile(
      `${dir}/ldap.conf`,
      `url ldaps://127.0.0.1:${slapd.tlsPort}\nca_file ${dir}/ca.pem\n` +
        `username ${LDAP_ADMIN}\npassword ${LDAP_PASSWORD}\nbasedn ${LDAP_SUFFIX}\n` +
        "domain_filter (associatedDomain=%s)\ndomain_attributes associatedDomain\n" +
        "query_timeout 5s\n",
    );
    const port = freePort();
    // The recipients are virtual users: no system user "bob" need exist on the machine.
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
table sqldomains mysql:${dir}/mysql.conf
table ldapdomains ldap:${dir}/ldap.conf
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@sql.example.test" = "vmail", "@ldap.example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain <sqldomains> action "local"
match from any for domain <ldapdomains> action "local"
`,
    );
    const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, {}, { separated: true });
    try {
      // A front that cannot read what a table names stops the daemon at start.
      await Promise.race([
        waitListening(port, 60_000),
        daemon.exited().then(() => {
          throw new Error(`the daemon stopped: ${daemon.log()}`);
        }),
      ]);
      await using c = await SmtpTestClient.connect(port);
      await c.expect("220 ");
      await c.send("EHLO client.test");
      await c.expect("250 ");
      await c.send("MAIL FROM:<someone@far.test>");
      await c.expect("250 ");
      for (const rcpt of ["bob@sql.example.test", "bob@ldap.example.test"]) {
        await c.send(`RCPT TO:<${rcpt}>`);
        await c.expect("250 ").catch((error) => {
          throw new Error(`${rcpt}: ${error}\n${daemon.log()}`, { cause: error });
        });
      }
      await c.send("QUIT");
      await c.expect("221 ");
    } finally {
      try {
        daemon.child.kill("SIGTERM");
      } catch { /* already stopped */ }
      await daemon.exited();
    }
  } finally {
    await db.stop();
    await Deno.remove(db.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
