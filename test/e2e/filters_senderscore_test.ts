// Debian's opensmtpd-filter-senderscore as a proc-exec filter: it keeps each session's
// state from the link-connect and link-disconnect report events, looks the client up in
// a Sender Score zone (served, inside a network namespace of the filter's own, by the
// test), and junks or disconnects a low-scoring client.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { scratchDir, startFilterFixture } from "./_filters.ts";

const SENDERSCORE = "/usr/libexec/opensmtpd/filter-senderscore";
const ZONE = new URL("../fixtures/senderscore_dns.py", import.meta.url).pathname;

function missing(): string | undefined {
  try {
    Deno.statSync(SENDERSCORE);
  } catch {
    return `${SENDERSCORE} is not installed (apt-get install opensmtpd-filter-senderscore)`;
  }
  try {
    const probe = new Deno.Command("unshare", {
      args: ["-r", "-n", "-m", "sh", "-c", "ip link set lo up"],
      stderr: "null",
    }).outputSync();
    if (!probe.success) return "unshare -r -n -m (user and network namespaces) is not allowed here";
  } catch {
    return "unshare or ip is not installed";
  }
  return undefined;
}

// The filter in namespaces of its own: its /etc/resolv.conf names 127.0.0.1, where the
// zone answers with the given score; the filter speaks to smtpd on its stdin and stdout.
async function senderscore(dir: string, score: number, flags: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
  await Deno.copyFile(ZONE, `${dir}/zone.py`);
  const wrapper = `${dir}/senderscore.sh`;
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh
exec unshare -r -n -m sh -c 'ip link set lo up && mount --bind ${dir}/resolv.conf /etc/resolv.conf && exec /usr/bin/python3 ${dir}/zone.py ${score} ${SENDERSCORE} ${flags}'
`,
  );
  await Deno.chmod(wrapper, 0o755);
  return wrapper;
}

const reason = missing();
if (reason) console.log(`skipping the filter-senderscore tests: ${reason}`);

Deno.test({
  name: "filter-senderscore junks the mail of a client scored below -junkBelow",
  ignore: reason !== undefined,
  async fn() {
    const dir = await scratchDir();
    await using fx = await startFilterFixture({
      dir,
      head: `filter "score" proc-exec "${await senderscore(dir, 10, "-junkBelow 50")}"`,
      listen: `filter "score"`,
    });
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("sender@client.test", ["alice@example.test"]);
    await client.sendRaw("Subject: low score\r\n\r\nbody\r\n.\r\n");
    await client.expect("250 ");
    const [text] = await fx.delivered("alice");
    assertStringIncludes(text!, "\nDelivered-To: alice@example.test\nX-Spam: yes\n");
    assertTrue(
      fx.log.some((l) => l.includes("link-connect addr=127.0.0.1 score=10")),
      fx.log.join("\n"),
    );
  },
});

Deno.test({
  name: "filter-senderscore disconnects a client scored below -blockBelow at the phase it names",
  ignore: reason !== undefined,
  async fn() {
    const dir = await scratchDir();
    await using fx = await startFilterFixture({
      dir,
      head: `filter "score" proc-exec "${await senderscore(
        dir,
        10,
        "-blockBelow 50 -blockPhase mail-from",
      )}"`,
      listen: `filter "score"`,
    });
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.send("MAIL FROM:<sender@client.test>");
    // The filter gives no enhanced code; the session adds one, as ENHANCEDSTATUSCODES asks.
    assertEquals(await client.reply(), "550 5.0.0 your IP reputation is too low for this MX");
    assertTrue(await client.closedByServer());
    assertEquals(fx.daemon.queue.stats().queued, 0);
  },
});

Deno.test({
  name: "filter-senderscore lets a well-scored client through unmarked",
  ignore: reason !== undefined,
  async fn() {
    const dir = await scratchDir();
    await using fx = await startFilterFixture({
      dir,
      head: `filter "score" proc-exec "${await senderscore(
        dir,
        90,
        "-junkBelow 50 -blockBelow 20",
      )}"`,
      listen: `filter "score"`,
    });
    await using client = await SmtpTestClient.connect(fx.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
    await client.startData("sender@client.test", ["alice@example.test"]);
    await client.sendRaw("Subject: good score\r\n\r\nbody\r\n.\r\n");
    await client.expect("250 ");
    const [text] = await fx.delivered("alice");
    assertEquals(text!.includes("X-Spam"), false);
  },
});
