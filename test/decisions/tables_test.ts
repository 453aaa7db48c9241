// Table lookups as OpenSMTPD 6.8 makes them, seen in replies and mailboxes: `virtual`
// keys in aliases_virtual_get()'s order, and regex tables in POSIX extended syntax tried on
// the lower-cased key.

import { assertEquals } from "../assert.ts";
import { OWN_IDS, readMaildir, sendMessage, waitFor } from "../_helpers.ts";
import { startDecisionDaemon } from "./_daemon.ts";

const ACCEPTED = "250 2.1.5 Destination address valid: Recipient ok";

Deno.test("virtual tries user+tag@domain, user@domain, user+tag, user, @domain, then @", async () => {
  await using daemon = await startDecisionDaemon(`
listen on 127.0.0.1 port 0
table vusers { "bob" = "vbob", "bob+news" = "vtag", "@example.org" = "vcatch", \\
  "ann@example.org" = "vann", "@" = "vglobal" }
table base { vbob = "${OWN_IDS}:/nonexistent", vtag = "${OWN_IDS}:/nonexistent", \\
  vcatch = "${OWN_IDS}:/nonexistent", vann = "${OWN_IDS}:/nonexistent", \\
  vglobal = "${OWN_IDS}:/nonexistent" }
action "v" maildir "$DIR/%{user.username}" virtual <vusers> userbase <base>
match from any for any action "v"
`);
  const to = [
    "bob@example.org",
    "bob+news@example.org",
    "bob+other@example.net",
    "ann+x@example.org",
    "carl@example.org",
    "dora@far.test",
  ];
  await sendMessage(daemon.port, { from: "a@client.test", to, body: "Subject: v\n\nv\n" });
  const boxes = ["vbob", "vtag", "vann", "vcatch", "vglobal"];
  const counts = await waitFor("six deliveries", async () => {
    const found = await Promise.all(boxes.map((b) => readMaildir(`${daemon.dir}/${b}`)));
    const n = found.map((f) => f.length);
    return n.reduce((a, b) => a + b) === 6 ? n : undefined;
  });
  // bob and bob+other@example.net reach "bob"; carl the domain's catch-all, dora the global one.
  assertEquals(Object.fromEntries(boxes.map((b, i) => [b, counts[i]])), {
    vbob: 2,
    vtag: 1,
    vann: 1,
    vcatch: 1,
    vglobal: 1,
  });
});

Deno.test("regex tables read POSIX extended patterns and match the lower-cased address", async () => {
  await using daemon = await startDecisionDaemon(`
listen on 127.0.0.1 port 0
table digits { "^[[:digit:]]+@" }
table named { "^Alice@", "(?i)^BOB@" }
table literal { "\\d@" }
action "r" relay
match from any for any rcpt-to regex <digits> action "r"
match from any for any rcpt-to regex <named> action "r"
match from any for any rcpt-to regex <literal> action "r"
`);
  const replies = await daemon.dialogue([
    "EHLO client.test",
    "MAIL FROM:<a@client.test>",
    "RCPT TO:<1234@far.test>",
    "RCPT TO:<Alice@far.test>",
    "RCPT TO:<Bob@far.test>",
    "RCPT TO:<d@far.test>",
    "RCPT TO:<x1@far.test>",
  ]);
  assertEquals(replies.slice(3), [
    `RCPT TO:<1234@far.test> => ${ACCEPTED}`,
    // table_lookup() lower-cases the key: a pattern with capitals needs (?i).
    "RCPT TO:<Alice@far.test> => 550 5.1.1 Invalid recipient: <Alice@far.test>",
    `RCPT TO:<Bob@far.test> => ${ACCEPTED}`,
    // `\\d` is a literal d to regcomp(3), not a digit.
    `RCPT TO:<d@far.test> => ${ACCEPTED}`,
    "RCPT TO:<x1@far.test> => 550 5.1.1 Invalid recipient: <x1@far.test>",
  ]);
});
