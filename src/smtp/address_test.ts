import { assertEquals } from "../../test/assert.ts";
import { isValidMailbox, parsePathArgument } from "./address.ts";

Deno.test("parsePathArgument() reads the address and parameters", () => {
  assertEquals(parsePathArgument("<a@example.test> SIZE=1000 body=8BITMIME"), {
    address: "a@example.test",
    params: new Map([["SIZE", "1000"], ["BODY", "8BITMIME"]]),
  });
  const addressOf = (text: string) => {
    const parsed = parsePathArgument(text);
    return "error" in parsed ? parsed : parsed.address;
  };
  assertEquals(addressOf("<>"), "");
  assertEquals(addressOf(" <a@example.test>"), "a@example.test");
  assertEquals(addressOf("<@relay.test,@b.test:u@example.test>"), "u@example.test");
});

Deno.test("parsePathArgument() refuses malformed paths", () => {
  for (
    const bad of [
      "a@example.test",
      "<a@example.test",
      "<a@>",
      "<@example.test>",
      "<a b@x.test>",
      "<a@x.test>junk",
    ]
  ) {
    assertEquals(parsePathArgument(bad), { error: "path" }, bad);
  }
});

Deno.test("parsePathArgument() tells a malformed or repeated parameter from a bad path", () => {
  for (const word of ["=x", "SIZE=", "ENVID=a=b", "-X"]) {
    assertEquals(parsePathArgument(`<a@x.test> ${word}`), { error: "parameter", word }, word);
  }
  assertEquals(parsePathArgument("<a@x.test> RET=FULL ret=HDRS"), {
    error: "repeated-parameter",
    keyword: "RET",
  });
});

Deno.test("isValidMailbox() accepts dot-atoms, quoted local parts and literals", () => {
  for (
    const good of [
      "a@b.test",
      "first.last+tag@example.test",
      '"a b"@example.test',
      "u@[192.0.2.1]",
      "u@[IPv6:2001:db8::1]",
    ]
  ) {
    assertEquals(isValidMailbox(good), true, good);
  }
  for (
    const bad of ["a..b@x.test", ".a@x.test", "a@-x.test", "a@x_y.test", `${"a".repeat(65)}@x.test`]
  ) {
    assertEquals(isValidMailbox(bad), false, bad);
  }
});
