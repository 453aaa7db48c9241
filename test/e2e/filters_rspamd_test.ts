// Debian's opensmtpd-filter-rspamd as a proc-exec filter in front of a real rspamd: the
// filter builds its request from the report events (link-connect, link-identify, tx-mail,
// tx-rcpt…) and the message's data lines, and acts on rspamd's action at commit: GTUBE is
// refused, the add-header test pattern gets X-Spam headers, a plain message passes.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { type FilterFixture, startFilterFixture } from "./_filters.ts";
import { RSPAMD, startRspamd } from "./_rspamd.ts";

const FILTER = "/usr/libexec/opensmtpd/filter-rspamd";
// The GTUBE strings rspamd knows: X… is reject, Y… is add header (test patterns).
const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

function missing(): string | undefined {
  for (const [path, pkg] of [[FILTER, "opensmtpd-filter-rspamd"], [RSPAMD, "rspamd"]]) {
    try {
      Deno.statSync(path!);
    } catch {
      return `${path} is not installed (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

const reason = missing();
if (reason) console.log(`skipping the filter-rspamd tests: ${reason}`);

/** One message, by DATA or by one BDAT LAST chunk; resolves with the final reply. */
async function send(
  fx: FilterFixture,
  body: string,
  options: { to: string; bdat?: boolean },
): Promise<string> {
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.example.org");
  await client.expect("250 ");
  const message = `From: sender@client.example.org\r\nTo: ${options.to}\r\n` +
    `Subject: rspamd test\r\nMessage-ID: <${crypto.randomUUID()}@client.example.org>\r\n\r\n` +
    `${body}\r\n`;
  if (options.bdat) {
    await client.send("MAIL FROM:<sender@client.example.org>");
    await client.expect("250 ");
    await client.send(`RCPT TO:<${options.to}>`);
    await client.expect("250 ");
    await client.sendRaw(`BDAT ${new TextEncoder().encode(message).byteLength} LAST\r\n${message}`);
  } else {
    await client.startData("sender@client.example.org", [options.to]);
    await client.sendRaw(`${message}.\r\n`);
  }
  const reply = await client.reply();
  await client.send("QUIT");
  await client.expect("221 ");
  return reply;
}

Deno.test({
  name:
    "filter-rspamd with a real rspamd: GTUBE is refused, the add-header pattern is marked, plain mail passes",
  ignore: reason !== undefined,
  sanitizeResources: false,
  async fn() {
    await using rspamd = await startRspamd();
    console.log(`rspamd answered /ping ${rspamd.startupMs} ms after it was started`);
    await using fx = await startFilterFixture({
      head: `filter "rspamd" proc-exec "${FILTER} -url ${rspamd.url}"`,
      listen: `filter "rspamd"`,
    });

    assertEquals(
      await send(fx, `Buy now.\r\n${GTUBE}`, { to: "alice@example.test" }),
      "550 5.0.0 Gtube pattern",
    );
    assertEquals(
      await send(fx, `Buy now.\r\n${GTUBE}`, { to: "alice@example.test", bdat: true }),
      "550 5.0.0 Gtube pattern",
    );
    assertMatch(
      await send(fx, `Maybe buy.\r\n${GTUBE_ADD_HEADER}`, { to: "bob@example.test" }),
      /^250 /,
    );
    assertMatch(
      await send(fx, "Lunch at noon?", { to: "carol@example.test", bdat: true }),
      /^250 /,
    );
    const [marked] = await fx.delivered("bob");
    assertStringIncludes(marked!, "\nX-Spam: yes\nX-Spam-Score: ");
    const [plain] = await fx.delivered("carol");
    assertStringIncludes(plain!, "Lunch at noon?");
    assertEquals(plain!.includes("X-Spam"), false, plain);
    // Nothing was delivered for the refused messages.
    const users = [];
    for await (const entry of Deno.readDir(`${fx.dir}/mail`)) users.push(entry.name);
    assertEquals(users.sort(), ["bob", "carol"]);
    assertTrue(fx.log.some((l) => /commit rejected by filter rspamd: 550 Gtube/.test(l)));
  },
});
