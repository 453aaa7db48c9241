// `from rdns` and the Received: header use the client's reverse (PTR) name, as OpenSMTPD's.
// Loopback names come from the system's hosts file, which the resolver reads first: every
// machine names 127.0.0.1 (often several ways, so the tests accept any name).

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

async function conversation(rdnsTable: string) {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "a" maildir "${dir}/mail" virtual { "@anywhere.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from rdns ${rdnsTable} for any action "a"
`,
  );
  const daemon = await startDaemon({
    config: await loadConfig(`${dir}/smtpd.conf`),
    log: SILENT_LOGGER,
    // The tests may only reach 127.0.0.1; loopback names are answered from the hosts file
    // before any server is asked.
    dns: { nameServer: { ipAddr: "127.0.0.1", port: 53 }, timeoutMs: 2000 },
  });
  try {
    await using client = await SmtpTestClient.connect(port);
    await client.expect("220 ");
    await client.send("EHLO helo.test");
    await client.expect("250 ");
    await client.send("MAIL FROM:<a@b.test>");
    await client.expect("250 ");
    await client.send("RCPT TO:<u@anywhere.test>");
    const rcpt = await client.reply();
    let received = "";
    if (rcpt.startsWith("250")) {
      await client.send("DATA");
      await client.expect("354 ");
      await client.sendRaw("Subject: rdns\r\n\r\nx\r\n.\r\n");
      await client.expect("250 ");
      const files = await waitFor("delivery", async () => {
        const found = await readMaildir(`${dir}/mail`);
        return found.length > 0 ? found : undefined;
      });
      received = files[0]!.text.split("\n")[2]!;
    }
    return { rcpt, received };
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("from rdns matches the client's PTR name and Received: shows it", async () => {
  const result = await conversation('regex { "^[a-z0-9.-]+$" }');
  assertEquals(result.rcpt, "250 2.1.5 Destination address valid: Recipient ok");
  assertMatch(result.received, /^Received: from helo\.test \([a-z0-9.-]+ \[127\.0\.0\.1\]\)$/);
});

Deno.test("from rdns refuses a client whose name is not in the table", async () => {
  const result = await conversation('{ "*.example.test" }');
  assertEquals(result.rcpt, "550 5.1.1 Invalid recipient: <u@anywhere.test>");
});
