// Relaying between two real daemons on 127.0.0.1: mail from this machine, and an address
// a virtual table sends elsewhere, go out through `relay host smtp://…` to a second
// daemon, which delivers them; what the far side refuses comes back as a bounce.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { startDnsServer } from "../_dns_server.ts";

async function daemon(
  dir: string,
  name: string,
  text: string,
  extra: Partial<Parameters<typeof startDaemon>[0]> = {},
) {
  await Deno.mkdir(`${dir}/${name}`, { recursive: true });
  const path = `${dir}/${name}/smtpd.conf`;
  await Deno.writeTextFile(path, `queue path "${dir}/${name}/queue"\n${text}`);
  return await startDaemon({ config: await loadConfig(path), log: SILENT_LOGGER, ...extra });
}

Deno.test("relay host: local mail and virtual forwards reach the far daemon; refusals bounce", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-" });
  const far = await daemon(
    dir,
    "far",
    `listen on 127.0.0.1 port ${freePort()}
action "inbox" maildir "${dir}/far/mail/%{rcpt.user}" virtual { "@other.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "other.test" action "inbox"
`,
  );
  const farPort = far.listeners[0]!.port;
  const nearPort = freePort();
  const near = await daemon(
    dir,
    "near",
    `listen on 127.0.0.1 port ${nearPort}
table virtuals { "fwd@example.test" = "someone@other.test", "@example.test" = "vmail" }
action "local" maildir "${dir}/near/mail/%{rcpt.user}" virtual <virtuals> userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "out" relay host smtp://127.0.0.1:${farPort}
match from any for domain "example.test" action "local"
match from local for any action "out"
`,
  );
  try {
    await sendMessage(nearPort, {
      from: "alice@example.test",
      to: ["bob@other.test"],
      body: "Subject: relayed\n\n..a line with a dot\n",
    });
    await sendMessage(nearPort, {
      from: "carol@elsewhere.test",
      to: ["fwd@example.test"],
      body: "Subject: forwarded\n\nvia the virtual table\n",
    });
    await sendMessage(nearPort, {
      from: "alice@example.test",
      to: ["x@nowhere.test"],
      body: "Subject: refused far away\n\nx\n",
    });
    const [bob] = await waitFor("bob's copy at the far daemon", async () => {
      const found = await readMaildir(`${dir}/far/mail/bob`);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(bob!.text, "Subject: relayed\n");
    assertStringIncludes(bob!.text, "\n.a line with a dot\n");
    // Two Received: lines: one from each daemon.
    assertEquals(bob!.text.match(/^Received: /gm)?.length, 2);
    const [someone] = await waitFor("the forwarded copy", async () => {
      const found = await readMaildir(`${dir}/far/mail/someone`);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(someone!.text, "Subject: forwarded\n");
    // nowhere.test is refused by the far daemon: alice gets a failure report.
    const bounce = await waitFor("the failure report", async () => {
      const found = await readMaildir(`${dir}/near/mail/alice`);
      return found.find((m) => m.text.includes("Delivery status notification: failed"));
    });
    assertStringIncludes(bounce.text, "Final-Recipient: rfc822; x@nowhere.test");
    assertStringIncludes(bounce.text, "Status: 5.1.1");
  } finally {
    await near.stop();
    await far.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("relay by MX: the domain's MX host is looked up and the mail goes there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-relay-mx-" });
  const far = await daemon(
    dir,
    "far",
    `listen on 127.0.0.1 port ${freePort()}
action "inbox" maildir "${dir}/far/mail" virtual { "@mx.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "mx.test" action "inbox"
`,
  );
  const dns = await startDnsServer({
    "mx.test": { MX: [[10, "mail.mx.test"]] },
    "mail.mx.test": { A: ["127.0.0.1"] },
  });
  const nearPort = freePort();
  const near = await daemon(
    dir,
    "near",
    `listen on 127.0.0.1 port ${nearPort}
action "out" relay
match from local for any action "out"
`,
    {
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      mxPort: far.listeners[0]!.port,
    },
  );
  try {
    await sendMessage(nearPort, {
      from: "alice@near.test",
      to: ["bob@mx.test"],
      body: "Subject: by mx\n\nx\n",
    });
    const [mail] = await waitFor("the message at the MX host", async () => {
      const found = await readMaildir(`${dir}/far/mail`);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(mail!.text, "Subject: by mx\n");
    assertEquals(dns.queries.includes("mx.test MX"), true);
    assertEquals(dns.queries.includes("mail.mx.test A"), true);
  } finally {
    await near.stop();
    await far.stop();
    await dns.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
