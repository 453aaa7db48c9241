// Configurations OpenSMTPD users run, at runtime: a tls listener without `pki` presents
// the pki named after its host name, and `smtpd -n` knows every port name of services(5).

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { freePort, SmtpTestClient, spawnLoggedDaemon, waitListening } from "../_helpers.ts";
import { parseServices } from "../../src/config/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const mx = await testCertificate("mx.example.test");
const mail = await testCertificate("mail.example.test");
if (!mx || !mail) console.log("tls without pki test skipped: openssl is not installed");

// STARTTLS, checking the certificate is the one for `name`, then EHLO again.
async function startTls(port: number, name: string, ca: string): Promise<void> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("STARTTLS");
  await client.expect("220 ");
  await client.startTls({ hostname: name, caCerts: [ca] });
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
}

Deno.test({
  name: "tls without pki presents the pki named after the listener's hostname, or the server's",
  ignore: !mx || !mail,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "smtpd-tls-hostname-" });
    const [one, two] = [freePort(), freePort()];
    for (const [name, c] of [["mx", mx!], ["mail", mail!]] as const) {
      await Deno.writeTextFile(`${dir}/${name}.pem`, c.cert);
      await Deno.writeTextFile(`${dir}/${name}.key`, c.key);
    }
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
pki Mx.Example.Test cert "${dir}/mx.pem"
pki Mx.Example.Test key "${dir}/mx.key"
pki mail.example.test cert "${dir}/mail.pem" key "${dir}/mail.key"
listen on 127.0.0.1 port ${one} tls hostname mx.example.test
listen on 127.0.0.1 port ${two} tls
action "out" relay
match from local for any action "out"
`,
    );
    const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, { SMTPD_MAILNAME: "mail.example.test" });
    try {
      const exited = daemon.exited().then((s) => {
        throw new Error(`the daemon exited (${s.code}):\n${daemon.log()}`);
      });
      await Promise.race([Promise.all([waitListening(one), waitListening(two)]), exited]);
      await startTls(one, "mx.example.test", mx!.ca);
      await startTls(two, "mail.example.test", mail!.ca);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("smtpd -n takes a port named by any TCP service of the system's services(5)", async () => {
  const text = await Deno.readTextFile("/etc/services").catch(() => undefined);
  if (text === undefined) {
    console.log("services(5) test skipped: /etc/services cannot be read");
    return;
  }
  // A service the built-in table does not know, so the system's database is what answers.
  const known = new Set(["smtp", "mail", "submission", "submissions", "smtps", "ssmtp", "lmtp"]);
  const entry = [...parseServices(text)].find(([name, port]) => !known.has(name) && port > 0);
  if (!entry) {
    console.log("services(5) test skipped: /etc/services names no other TCP service");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-services-" });
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `listen on 127.0.0.1 port ${entry[0]}\nlisten on 127.0.0.1 port submissions\n` +
      'action "a" mbox\nmatch from any for local action "a"\n',
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "-n", "-v", "-f", `${dir}/smtpd.conf`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  assertEquals([output.code, decode(output.stderr)], [0, ""]);
  assertStringIncludes(decode(output.stdout), `listen on 127.0.0.1 port ${entry[1]}\n`);
  assertStringIncludes(decode(output.stdout), "listen on 127.0.0.1 port 465\n");
  await Deno.remove(dir, { recursive: true });
});
