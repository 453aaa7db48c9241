// Local submissions (sendmail through the daemon's socket) meet the filters too: those
// of the socket listener (`listen on socket filter …`) and those of the rule that takes
// the mail (`match from local … filter …`), refusals given as sendmail's exit code.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { fixtureFilterCommand, scratchDir } from "./_filters.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

async function sendmail(conf: string, sender: string, input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "sendmail", "-C", conf, "-f", sender, "alice@example.test"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

// The daemon as a child process, as operators run it: its control socket (sendmail's way
// in) is a unix socket that the tests' own permissions do not allow.
async function phaseDaemon(where: { head?: string; rules?: string }) {
  const dir = await scratchDir();
  const command = await fixtureFilterCommand(dir, "phase_filter.py", `${dir}/events`);
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
filter "phases" proc-exec "${command}"
${where.head ?? ""}
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
${where.rules ?? ""}
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(conf);
  await waitFor(
    "local submission on the socket",
    () => /local submission on \S+smtpd\.sock/.test(daemon.log()) || undefined,
    60_000,
  );
  return {
    conf,
    log: () => daemon.log(),
    async delivered(user: string, count = 1) {
      const found = await waitFor(`${count} message(s) for ${user}`, async () => {
        const files = await readMaildir(`${dir}/mail/${user}/Maildir`);
        return files.length >= count ? files : undefined;
      });
      return found.map((f) => f.text);
    },
    async [Symbol.asyncDispose]() {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

for (
  const [what, where] of [
    ["the socket listener's", { head: 'listen on socket filter "phases"' }],
    [
      "the rule's",
      { rules: 'match from local for domain "example.test" filter "phases" action "local"' },
    ],
  ] as const
) {
  Deno.test(`sendmail's message goes through ${what} filters: rewritten, or refused with exit 69`, async () => {
    await using fx = await phaseDaemon(where);
    const conf = fx.conf;
    const sent = await sendmail(conf, "sender@client.test", "Subject: local\n\nthe secret\n");
    assertEquals(sent, { code: 0, stderr: "" });
    const [text] = await fx.delivered("alice");
    assertStringIncludes(text!, "X-Phase-Filter: rewritten\n");
    assertStringIncludes(text!, "Subject: local\n");
    assertStringIncludes(text!, "\nthe [redacted]\n");
    // One Received: field, the session's.
    assertEquals(text!.match(/^Received: /gm)?.length, 1, text);
    for (
      const [sender, reply] of [
        ["nodata@client.test", "554 5.7.1 No data from you"],
        ["nocommit@client.test", "554 5.7.1 Not committed"],
      ]
    ) {
      const refused = await sendmail(conf, sender!, "Subject: refused\n\nbody\n");
      assertEquals(refused.code, 69, refused.stderr);
      assertStringIncludes(refused.stderr, reply!);
    }
    assertEquals((await fx.delivered("alice")).length, 1);
    assertTrue(/local: via=socket .* result=Ok/.test(fx.log()), fx.log());
  });
}

Deno.test("without the daemon, sendmail leaves filtered local mail to it: never queued past the filters, -bs refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-local-filters-" });
  try {
    const conf = `${dir}/smtpd.conf`;
    await Deno.writeTextFile(
      conf,
      `queue path "${dir}/queue"
filter "tag" phase data match src <lo> junk
table lo { 127.0.0.1 }
listen on socket filter "tag"
action "local" mbox
match from local for any action "local"
`,
    );
    const sent = await sendmail(conf, "sender@client.test", "Subject: held\n\nbody\n");
    assertEquals(sent.code, 75, sent.stderr);
    assertStringIncludes(sent.stderr, "filters apply to local mail and run only in the daemon");
    // The queue was never opened, so nothing went in unfiltered.
    assertEquals(await Deno.stat(`${dir}/queue`).then(() => true, () => false), false);
    const bs = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "sendmail", "-C", conf, "-bs"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const out = await bs.output();
    assertEquals(out.code, 75);
    assertEquals(
      new TextDecoder().decode(out.stdout),
      "421 4.3.0 Filters apply to local mail here: submit with sendmail without -bs\r\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
