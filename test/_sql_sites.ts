// A mail site whose domains, virtual users and credentials live in an SQL database:
// the schema of table-postgres(5)/table-mysql(5)'s example, and smtpd daemons that share it.

import { hashPassword } from "../src/auth/mod.ts";
import {
  freePort,
  type LoggedDaemon,
  OWN_IDS,
  spawnLoggedDaemon,
  waitListening,
} from "./_helpers.ts";
import type { TestCertificate } from "./_certificate.ts";

/** Runs SQL on the site's database (the test's own connection). */
export type Execute = (sql: string, params?: string[]) => Promise<unknown>;

/** The three tables of the example schema, empty. */
export async function createSchema(execute: Execute): Promise<void> {
  await execute("CREATE TABLE domains (domain VARCHAR(255) NOT NULL)");
  await execute("CREATE TABLE virtuals (email VARCHAR(255) NOT NULL, destination VARCHAR(255))");
  await execute("CREATE TABLE credentials (email VARCHAR(255) NOT NULL, password VARCHAR(255))");
}

/** The password of every user in {@link addUser}. */
export const USER_PASSWORD = "correct horse";

/** A virtual user delivered to the `vmail` account, who can also log in. */
export async function addUser(execute: Execute, email: string, ph: (n: number) => string) {
  await execute(`INSERT INTO virtuals VALUES (${ph(1)}, 'vmail')`, [email]);
  await execute(`INSERT INTO credentials VALUES (${ph(1)}, ${ph(2)})`, [
    email,
    hashPassword(USER_PASSWORD),
  ]);
}

/** One daemon of the site: its own queue, mailboxes and ports, the shared tables. */
export interface SiteNode {
  readonly port: number;
  readonly submission: number;
  readonly mailDir: string;
  readonly daemon: LoggedDaemon;
  stop(): Promise<void>;
}

/**
 * Starts an smtpd whose three tables are read through the backend configuration file
 * `tableConf` (one file for the three, as table-postgres(5)'s example has it).
 */
export async function startSiteNode(
  dir: string,
  name: string,
  backend: string,
  tableConf: string,
  cert: TestCertificate,
): Promise<SiteNode> {
  const port = freePort();
  const submission = freePort();
  const mailDir = `${dir}/${name}-mail`;
  await Deno.writeTextFile(`${dir}/${name}.crt`, cert.cert);
  await Deno.writeTextFile(`${dir}/${name}.key`, cert.key);
  await Deno.writeTextFile(
    `${dir}/${name}.conf`,
    `pki mx.example.test certificate "${dir}/${name}.crt"
pki mx.example.test key "${dir}/${name}.key"
queue path "${dir}/${name}-queue"
table domains ${backend}:${tableConf}
table virtuals ${backend}:${tableConf}
table credentials ${backend}:${tableConf}
listen on 127.0.0.1 port ${port} hostname mx.example.test
listen on 127.0.0.1 port ${submission} tls pki mx.example.test auth <credentials> hostname mx.example.test
action "vmail" maildir "${mailDir}/%{rcpt.user}" virtual <virtuals> userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain <domains> action "vmail"
match auth from any for any action "vmail"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/${name}.conf`);
  try {
    await waitListening(port, 60_000);
    await waitListening(submission, 60_000);
  } catch (error) {
    try {
      daemon.child.kill("SIGTERM");
    } catch { /* gone */ }
    await daemon.exited();
    throw new Error(`${name} did not start: ${daemon.log()}`, { cause: error });
  }
  return {
    port,
    submission,
    mailDir,
    daemon,
    async stop() {
      try {
        daemon.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await daemon.exited();
    },
  };
}
