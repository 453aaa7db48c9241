// Every builtin phase with every decision of smtpd.conf(5) FILTERS (`filter NAME phase P
// match src <lo> DECISION`), each in its own daemon, each seen where a client or a user
// sees it: the reply at that phase, the connection closing, or the delivered message.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient } from "../_helpers.ts";
import { type FilterFixture, startFilterFixture } from "./_filters.ts";

const PHASES = ["connect", "helo", "ehlo", "mail-from", "rcpt-to", "data", "commit"] as const;
type Phase = typeof PHASES[number];
const DECISIONS = ["junk", "bypass", "reject", "disconnect", "rewrite", "report"] as const;
type Decision = typeof DECISIONS[number];

// What `rewrite` puts in place of the client's argument; phases without one have none.
const REWRITES: Partial<Record<Phase, string>> = {
  helo: "rewritten.test",
  ehlo: "rewritten.test",
  "mail-from": "rewritten@example.test",
  "rcpt-to": "bob@example.test",
};

function declaration(phase: Phase, decision: Decision): { head: string; chain: string } {
  const lo = "table lo { 127.0.0.1 }";
  const rule = `phase ${phase} match src <lo>`;
  switch (decision) {
    case "reject":
      return {
        head: `${lo}\nfilter "f" ${rule} reject "550 5.7.1 Refused at ${phase}"`,
        chain: "f",
      };
    case "disconnect":
      return {
        head: `${lo}\nfilter "f" ${rule} disconnect "421 4.7.1 Bye at ${phase}"`,
        chain: "f",
      };
    case "rewrite":
      return {
        head: `${lo}\nfilter "f" ${rule} rewrite "${REWRITES[phase] ?? "nothing.test"}"`,
        chain: "f",
      };
    case "report":
      return { head: `${lo}\nfilter "f" ${rule} report "seen at ${phase}"`, chain: "f" };
    case "bypass":
      // The filter after it in the chain would refuse: bypass skips it.
      return {
        head: `${lo}\nfilter "f" ${rule} bypass
filter "no" ${rule} reject "550 5.7.1 Not bypassed"
filter "c" chain { "f", "no" }`,
        chain: "c",
      };
    case "junk":
      return { head: `${lo}\nfilter "f" ${rule} junk`, chain: "f" };
  }
}

interface Conversation {
  readonly client: SmtpTestClient;
  /** The phase whose reply was not a success, and that reply's last line. */
  readonly stopped?: { readonly phase: Phase; readonly reply: string };
}

// One message, step by step, stopping at the first reply that is not 2xx or 3xx.
async function converse(fx: FilterFixture, hello: "HELO" | "EHLO"): Promise<Conversation> {
  const client = await SmtpTestClient.connect(fx.port);
  const steps: [Phase, string | undefined][] = [
    ["connect", undefined],
    [hello === "HELO" ? "helo" : "ehlo", `${hello} client.test`],
    ["mail-from", "MAIL FROM:<sender@client.test>"],
    ["rcpt-to", "RCPT TO:<alice@example.test>"],
    ["data", "DATA"],
    ["commit", "Subject: matrix\r\n\r\nbody\r\n."],
  ];
  for (const [phase, command] of steps) {
    if (command !== undefined) await client.send(command);
    const reply = (await client.reply()).split("\r\n").at(-1)!;
    if (!/^[23]/.test(reply)) return { client, stopped: { phase, reply } };
  }
  return { client };
}

async function check(phase: Phase, decision: Decision): Promise<void> {
  const { head, chain } = declaration(phase, decision);
  await using fx = await startFilterFixture({ head, listen: `filter "${chain}"` });
  const { client, stopped } = await converse(fx, phase === "helo" ? "HELO" : "EHLO");
  await using _ = client;
  if (decision === "reject" || decision === "disconnect") {
    const expected = decision === "reject"
      ? `550 5.7.1 Refused at ${phase}`
      : `421 4.7.1 Bye at ${phase}`;
    assertEquals(stopped, { phase, reply: expected });
    assertEquals(fx.daemon.queue.stats().queued, 0);
    if (decision === "disconnect" || phase === "connect") {
      assertTrue(await client.closedByServer(), "the session ends");
      return;
    }
    // A reject refuses the command only: the session goes on.
    await client.send("NOOP");
    await client.expect("250 ");
    await client.send("QUIT");
    await client.expect("221 ");
    return;
  }
  assertEquals(stopped, undefined);
  await client.send("QUIT");
  await client.expect("221 ");
  const user = decision === "rewrite" && phase === "rcpt-to" ? "bob" : "alice";
  const [text] = await fx.delivered(user);
  assertStringIncludes(text!, "Subject: matrix");
  const spam = text!.includes("\nX-Spam: yes\n");
  assertEquals(spam, decision === "junk", text);
  if (decision === "rewrite" && (phase === "helo" || phase === "ehlo")) {
    assertStringIncludes(text!, "\nReceived: from rewritten.test ");
  }
  if (decision === "rewrite" && phase === "mail-from") {
    assertTrue(text!.startsWith("Return-Path: <rewritten@example.test>\n"), text);
  }
  if (decision === "rewrite" && phase === "data") {
    // DATA has no argument: the rewrite is logged as having none to replace.
    assertTrue(
      fx.log.some((l) => l.includes("a filter's rewrite has no argument")),
      fx.log.join("\n"),
    );
  }
  if (decision === "report") {
    assertTrue(
      fx.log.some((l) => new RegExp(`filter f: session \\w+: seen at ${phase}$`).test(l)),
      fx.log.join("\n"),
    );
  }
}

for (const phase of PHASES) {
  for (const decision of DECISIONS) {
    Deno.test(`builtin matrix: phase ${phase}, decision ${decision}`, () => check(phase, decision));
  }
}

Deno.test("builtin phase commit: junk marks that message only, not the session's next one", async () => {
  await using fx = await startFilterFixture({
    head: `table spammer { spammer@client.test }
filter "f" phase commit match mail-from <spammer> junk`,
    listen: `filter "f"`,
  });
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  for (const sender of ["spammer@client.test", "friend@client.test"]) {
    await client.startData(sender, ["alice@example.test"]);
    await client.sendRaw(`Subject: from ${sender}\r\n\r\nbody\r\n.\r\n`);
    await client.expect("250 ");
  }
  const texts = await fx.delivered("alice", 2);
  const spam = texts.find((t) => t.includes("Subject: from spammer"))!;
  const friend = texts.find((t) => t.includes("Subject: from friend"))!;
  assertStringIncludes(spam, "\nX-Spam: yes\n");
  assertEquals(friend.includes("X-Spam"), false, friend);
});
