// Recipients as OpenSMTPD 6.8 decides them at RCPT: `for local` names the machine's own
// addresses bare and as address literals, and a recipient without a domain takes the
// listener's hostname. The expected replies are those OpenSMTPD gives to the same dialogue.

import { assertEquals } from "../assert.ts";
import { startDecisionDaemon } from "./_daemon.ts";

const ACCEPTED = "250 2.1.5 Destination address valid: Recipient ok";

Deno.test("for local accepts the local interface addresses, bare and as address literals", async () => {
  await using daemon = await startDecisionDaemon(`
listen on 127.0.0.1 port 0
action "l" maildir "$DIR/mail"
match from any for local action "l"
`);
  const replies = await daemon.dialogue([
    "EHLO client.test",
    "MAIL FROM:<a@client.test>",
    "RCPT TO:<root@[127.0.0.1]>",
    "RCPT TO:<root@127.0.0.1>",
    "RCPT TO:<root@[IPv6:::1]>",
    "RCPT TO:<root@[::1]>",
    "RCPT TO:<root@[127.0.0.2]>",
    "RCPT TO:<root@[192.0.2.200]>",
  ]);
  assertEquals(replies.slice(3), [
    `RCPT TO:<root@[127.0.0.1]> => ${ACCEPTED}`,
    `RCPT TO:<root@127.0.0.1> => ${ACCEPTED}`,
    `RCPT TO:<root@[IPv6:::1]> => ${ACCEPTED}`,
    `RCPT TO:<root@[::1]> => ${ACCEPTED}`,
    "RCPT TO:<root@[127.0.0.2]> => 550 5.1.1 Invalid recipient: <root@[127.0.0.2]>",
    "RCPT TO:<root@[192.0.2.200]> => 550 5.1.1 Invalid recipient: <root@[192.0.2.200]>",
  ]);
});

Deno.test("a recipient or sender without a domain takes the listener's hostname", async () => {
  await using daemon = await startDecisionDaemon(`
listen on 127.0.0.1 port 0 hostname mx.example.test
action "l" maildir "$DIR/mail"
match from any for domain "mx.example.test" action "l"
`);
  const replies = await daemon.dialogue([
    "EHLO client.test",
    "MAIL FROM:<someone>",
    "RCPT TO:<root>",
    "RCPT TO:<nobody>",
    "RCPT TO:<a b>",
    "RSET",
    "MAIL FROM:<a@client.test>",
    "RCPT TO:<root>",
    "DATA",
  ]);
  assertEquals(replies.slice(2, 6), [
    "MAIL FROM:<someone> => 250 2.0.0 Ok",
    `RCPT TO:<root> => ${ACCEPTED}`,
    `RCPT TO:<nobody> => ${ACCEPTED}`,
    "RCPT TO:<a b> => 501 5.1.3 Recipient address syntax error",
  ]);
  await using other = await startDecisionDaemon(`
listen on 127.0.0.1 port 0 hostname elsewhere.test
action "l" maildir "$DIR/mail"
match from any for domain "mx.example.test" action "l"
`);
  const refused = await other.dialogue([
    "EHLO client.test",
    "MAIL FROM:<a@b.test>",
    "RCPT TO:<root>",
  ]);
  assertEquals(refused[3], "RCPT TO:<root> => 550 5.1.1 Invalid recipient: <root@elsewhere.test>");
});
