// EHLO and HELO with an address literal, read as OpenSMTPD's valid_domainpart() reads one:
// a literal holding no address is refused with 501, and MAIL waits for a valid greeting.

import { assertEquals } from "../assert.ts";
import { startDecisionDaemon } from "./_daemon.ts";

Deno.test("EHLO with an invalid address literal is refused and MAIL waits for a valid one", async () => {
  await using daemon = await startDecisionDaemon(`
listen on 127.0.0.1 port 0 hostname mx.example.test
action "l" maildir "$DIR/mail"
match from any for domain "mx.example.test" action "l"
`);
  const replies = await daemon.dialogue([
    "EHLO [1.2.3]",
    "MAIL FROM:<a@client.test>",
    "HELO [999.0.0.1]",
    "EHLO [IPv6:zz::1]",
    "EHLO [1.2.3.4.5]",
    "MAIL FROM:<a@client.test>",
    "HELO [192.0.2.1]",
    "MAIL FROM:<a@client.test>",
    "RSET",
    "EHLO [IPv6:2001:db8::1]",
    "EHLO [::1]",
  ]);
  const bad = "501 5.5.4 Syntax: EHLO/HELO domain";
  const helloFirst = "503 5.5.1 Invalid command: Say HELO or EHLO first";
  assertEquals(replies.slice(1, 9), [
    `EHLO [1.2.3] => ${bad}`,
    `MAIL FROM:<a@client.test> => ${helloFirst}`,
    `HELO [999.0.0.1] => ${bad}`,
    `EHLO [IPv6:zz::1] => ${bad}`,
    `EHLO [1.2.3.4.5] => ${bad}`,
    `MAIL FROM:<a@client.test> => ${helloFirst}`,
    "HELO [192.0.2.1] => 250 mx.example.test Hello [192.0.2.1] [127.0.0.1], pleased to meet you",
    "MAIL FROM:<a@client.test> => 250 2.0.0 Ok",
  ]);
  assertEquals(
    replies[10]!.split("\r\n")[0],
    "EHLO [IPv6:2001:db8::1] => 250-mx.example.test Hello [IPv6:2001:db8::1] [127.0.0.1], pleased to meet you",
  );
  assertEquals(
    replies[11]!.split("\r\n")[0],
    "EHLO [::1] => 250-mx.example.test Hello [::1] [127.0.0.1], pleased to meet you",
  );
});
