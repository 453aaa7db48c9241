// The seed document's complex configuration, adapted to 127.0.0.1 (a port per listener,
// generated certificates, its sqlite tables as fixtures), starts and serves each
// listener as written: names, tags, STARTTLS, and AUTH against the sqlite credentials.

import { DatabaseSync } from "node:sqlite";
import { loadConfig, startDaemon } from "../../mod.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, sendMessage, SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";

const mx1 = await testCertificate("mx1.prism.mx");
const mail = await testCertificate("mail.prism.mx");
const ignore = !mx1 || !mail;
if (ignore) console.log("seed complex example test skipped: openssl is not installed");

async function fixture(dir: string) {
  for (const [name, cert] of [["mx1", mx1!], ["mail", mail!]] as const) {
    await Deno.writeTextFile(`${dir}/${name}.crt`, cert.cert);
    await Deno.writeTextFile(`${dir}/${name}.key`, cert.key);
  }
  const db = new DatabaseSync(`${dir}/prism.sqlite`);
  db.exec("CREATE TABLE credentials (username TEXT, password TEXT)");
  db.exec("CREATE TABLE users (username TEXT, uid INTEGER, gid INTEGER, home TEXT)");
  db.prepare("INSERT INTO credentials VALUES (?, ?)").run("gilles", hashPassword("opensmtpd"));
  db.prepare("INSERT INTO users VALUES (?, ?, ?, ?)").run("gilles", 1000, 1000, "/home/gilles");
  db.close();
  await Deno.writeTextFile(
    `${dir}/prism-sqlite.conf`,
    `dbpath ${dir}/prism.sqlite
query_credentials SELECT username, password FROM credentials WHERE username=?
query_userinfo SELECT uid, gid, home FROM users WHERE username=?
`,
  );
  // The seed's MDA, stood in for by a script that records what it was given.
  await Deno.mkdir(`${dir}/delivered`, { mode: 0o1777 });
  await Deno.chmod(`${dir}/delivered`, 0o1777);
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(
    `${dir}/prism-mda.py`,
    `#!/usr/bin/env python3
import os, sys
# Written aside and renamed, so the test never reads a file still being written.
name = "${dir}/delivered/%s-%d" % (sys.argv[1], os.getpid())
with open(name + ".tmp", "w") as out:
    out.write(" ".join(sys.argv[1:]) + "\\n" + sys.stdin.read())
os.rename(name + ".tmp", name)
`,
  );
  await Deno.chmod(`${dir}/prism-mda.py`, 0o755);
  const ports = [freePort(), freePort(), freePort(), freePort()] as const;
  // The seed's text, with its addresses, ports and files adapted to this machine.
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `pki mx1.prism.mx certificate "${dir}/mx1.crt"
pki mx1.prism.mx key "${dir}/mx1.key"

pki mail.prism.mx certificate "${dir}/mail.crt"
pki mail.prism.mx key "${dir}/mail.key"

queue path "${dir}/queue"
queue compression
queue encryption ${"5eed".repeat(16)}

table userauth sqlite:${dir}/prism-sqlite.conf
table userinfo sqlite:${dir}/prism-sqlite.conf

listen on 127.0.0.1 port ${ports[0]} hostname mx1.prism.mx
listen on 127.0.0.1 port ${ports[1]} tag DKIM hostname mx1.prism.mx
listen on 127.0.0.1 port ${ports[2]} tls pki mx1.prism.mx hostname mx1.prism.mx
listen on 127.0.0.1 port ${ports[3]} tls pki mail.prism.mx \\
	auth <userauth> hostname mail.prism.mx

table aliases { admin = gilles, postmaster = gilles, root = gilles, \\
	abuse = gilles }
table sources { 212.83.129.132 }
table names { 212.83.129.132 = mx1.prism.mx }

accept from any for domain prism.mx alias <aliases> \\
	userbase <userinfo> deliver to \\
	mda "${dir}/prism-mda.py %{user.username}"
accept tagged DKIM for any relay source <sources> helo <names>
accept for any relay via smtp://127.0.0.1:10027
`,
  );
  return ports;
}

async function rcpt(client: SmtpTestClient, address: string): Promise<string> {
  await client.send(`RCPT TO:<${address}>`);
  return (await client.reply()).slice(0, 3);
}

Deno.test({
  name: "the seed's complex configuration serves each of its listeners as written",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    // Four free ports: another test may take one between the check and the listen, so a
    // start that finds one in use tries again with new ones.
    let ports = await fixture(dir);
    let daemon;
    for (let attempt = 1;; attempt++) {
      try {
        daemon = await startDaemon({
          config: await loadConfig(`${dir}/smtpd.conf`),
          log: SILENT_LOGGER,
        });
        break;
      } catch (error) {
        if (attempt === 5 || !String(error).includes("EADDRINUSE")) throw error;
        await Deno.remove(`${dir}/queue`, { recursive: true }).catch(() => {});
        await Deno.remove(`${dir}/delivered`, { recursive: true }).catch(() => {});
        await Deno.remove(`${dir}/prism.sqlite`).catch(() => {});
        ports = await fixture(dir);
      }
    }
    try {
      assertEquals(daemon.listeners.map((l) => l.port), [...ports]);

      // 1: plain, mx1.prism.mx; mail for prism.mx through aliases and the sqlite userbase.
      {
        await using c = await SmtpTestClient.connect(ports[0]);
        assertEquals(await c.reply(), "220 mx1.prism.mx ESMTP OpenSMTPD");
        await c.send("EHLO client.test");
        assertEquals((await c.reply()).includes("STARTTLS"), false);
        await c.send("MAIL FROM:<someone@far.test>");
        await c.expect("250 ");
        assertEquals(await rcpt(c, "postmaster@prism.mx"), "250");
        assertEquals(await rcpt(c, "gilles@prism.mx"), "250");
        assertEquals(await rcpt(c, "nobody@prism.mx"), "550");
        assertEquals(await rcpt(c, "x@far.test"), "250"); // from local: relayed via 10027
      }
      // 2: tag DKIM.
      {
        await using c = await SmtpTestClient.connect(ports[1]);
        await c.expect("220 mx1.prism.mx ");
        await c.send("EHLO client.test");
        await c.expect("250 ");
        await c.send("MAIL FROM:<someone@prism.mx>");
        await c.expect("250 ");
        assertEquals(await rcpt(c, "x@far.test"), "250");
      }
      // 3 and 4: STARTTLS with each pki; the submission listener requires AUTH.
      for (
        const [port, name, cert] of [[ports[2], "mx1.prism.mx", mx1!], [
          ports[3],
          "mail.prism.mx",
          mail!,
        ]] as const
      ) {
        await using c = await SmtpTestClient.connect(port);
        await c.expect(`220 ${name} `);
        await c.send("EHLO client.test");
        assertStringIncludes(await c.reply(), "250-STARTTLS");
        await c.send("STARTTLS");
        await c.expect("220 ");
        await c.startTls({ hostname: name, caCerts: [cert.ca] });
        await c.send("EHLO client.test");
        const ehlo = await c.reply();
        if (port === ports[3]) {
          assertStringIncludes(ehlo, "250-AUTH PLAIN LOGIN");
          await c.send("MAIL FROM:<gilles@prism.mx>");
          await c.expect("530 5.7.0 ");
          await c.send(`AUTH PLAIN ${btoa("\0gilles\0opensmtpd")}`);
          assertEquals(await c.reply(), "235 2.0.0 Authentication succeeded");
        }
        await c.send("MAIL FROM:<gilles@prism.mx>");
        await c.expect("250 ");
      }
      // Mail for prism.mx reaches the seed's mda through the aliases, as gilles.
      await sendMessage(ports[0], {
        from: "someone@far.test",
        to: ["postmaster@prism.mx", "gilles@prism.mx"],
        body: "Subject: for the postmaster\n\nhello gilles\n",
      });
      const files = await waitFor("two deliveries to the mda", async () => {
        const names: string[] = [];
        for await (const e of Deno.readDir(`${dir}/delivered`)) {
          if (!e.name.endsWith(".tmp")) names.push(e.name);
        }
        return names.length === 2 ? names : undefined;
      });
      for (const name of files) {
        const text = await Deno.readTextFile(`${dir}/delivered/${name}`);
        assertEquals(text.split("\n")[0], "gilles");
        assertStringIncludes(text, "Subject: for the postmaster\n");
        assertStringIncludes(text, "hello gilles\n");
      }
    } finally {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
