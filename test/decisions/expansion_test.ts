// forward-only and expand-only answered at RCPT, as OpenSMTPD 6.8 answers the same
// dialogue: the recipient is expanded before the reply, and one whose mail would stay
// with a local user (no ~/.forward) gets 424 (forward-only) or 524 (expand-only).

import { assertEquals } from "../assert.ts";
import { OWN_IDS } from "../_helpers.ts";
import { startDecisionDaemon } from "./_daemon.ts";

const ACCEPTED = "250 2.1.5 Destination address valid: Recipient ok";

Deno.test("forward-only and expand-only refuse at RCPT what would stay local", async () => {
  await using daemon = await startDecisionDaemon(
    `
listen on 127.0.0.1 port 0
table al { fwd = "someone@far.test", out = "someone@out.test", lu = "vmail", \\
  both = "vmail, someone@out.test" }
table base { vmail = "${OWN_IDS}:$DIR/vhome", fwduser = "${OWN_IDS}:$DIR/fhome" }
action "f" forward-only alias <al> userbase <base>
action "e" expand-only alias <al> userbase <base>
action "r" relay
match from any for domain "f.test" action "f"
match from any for domain "e.test" action "e"
match from any for domain "out.test" action "r"
`,
    async (dir) => {
      await Deno.mkdir(`${dir}/vhome`);
      await Deno.mkdir(`${dir}/fhome`);
      await Deno.writeTextFile(`${dir}/fhome/.forward`, "someone@out.test\n");
    },
  );
  const rcpts = [
    "vmail@f.test",
    "fwduser@f.test",
    "fwd@f.test",
    "out@f.test",
    "lu@f.test",
    "both@f.test",
    "nosuch@f.test",
    "vmail@e.test",
    "fwduser@e.test",
  ];
  const replies = await daemon.dialogue([
    "EHLO client.test",
    "MAIL FROM:<a@client.test>",
    ...rcpts.map((r) => `RCPT TO:<${r}>`),
  ]);
  const tempfail = (r: string) =>
    `RCPT TO:<${r}> => 424 4.2.4 Mailing list expansion problem: <${r}>`;
  assertEquals(replies.slice(3), [
    tempfail("vmail@f.test"),
    `RCPT TO:<fwduser@f.test> => ${ACCEPTED}`,
    // The alias's address is routed again, and no rule takes far.test.
    "RCPT TO:<fwd@f.test> => 550 5.1.1 Invalid recipient: <fwd@f.test>",
    `RCPT TO:<out@f.test> => ${ACCEPTED}`,
    tempfail("lu@f.test"),
    tempfail("both@f.test"),
    "RCPT TO:<nosuch@f.test> => 550 5.1.1 Invalid recipient: <nosuch@f.test>",
    "RCPT TO:<vmail@e.test> => 524 5.2.4 Mailing list expansion problem: <vmail@e.test>",
    `RCPT TO:<fwduser@e.test> => ${ACCEPTED}`,
  ]);
});
