// The relaxed canonical forms (RFC 6376 §3.4.2, §3.4.4) byte for byte: only SP and HTAB
// are whitespace there; octets such as 0xA0, \v and \f are kept wherever they stand.

import { assertEquals } from "../assert.ts";
import { relaxedBody, relaxedHeader, splitMessage } from "../../src/mail_auth/dkim_canon.ts";

function header(...lines: string[]): string {
  return relaxedHeader(splitMessage([...lines, ""]).headers[0]!);
}

Deno.test("relaxedHeader() removes SP and HTAB at the value's ends and around the colon", () => {
  assertEquals(header("Subject \t:  \tHello \t there \t "), "subject:Hello there\r\n");
  assertEquals(
    header("To: a@example.org,", "\t b@example.org  "),
    "to:a@example.org, b@example.org\r\n",
  );
});

Deno.test("relaxedHeader() keeps 0xA0, \\v and \\f at the start and end of the value", () => {
  // "Voilà" in UTF-8 ends in the octets C3 A0.
  assertEquals(header("Subject: Voil\xc3\xa0"), "subject:Voil\xc3\xa0\r\n");
  assertEquals(header("Subject: \xc2\xa0x\xc2\xa0 "), "subject:\xc2\xa0x\xc2\xa0\r\n");
  assertEquals(header("Subject:\xa0x\xa0"), "subject:\xa0x\xa0\r\n");
  assertEquals(header("Subject: \vx\f "), "subject:\vx\f\r\n");
  assertEquals(header("Subject: \f", " \v"), "subject:\f \v\r\n");
});

Deno.test("relaxedBody() keeps 0xA0, \\v and \\f at the start and end of lines", () => {
  const lines = ["", "\xa0x\xa0 \t", "\vy\f", " \t\xa0", "\f", " ", ""];
  assertEquals(
    [...relaxedBody(lines, 1)].join(""),
    "\xa0x\xa0\r\n\vy\f\r\n \xa0\r\n\f\r\n",
  );
});
