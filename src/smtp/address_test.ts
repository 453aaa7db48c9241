import { assertEquals } from "../../test/assert.ts";
import { isValidMailbox, parsePathArgument } from "./address.ts";

Deno.test("parsePathArgument() reads the address and parameters", () => {
  const parsed = parsePathArgument("<a@example.test> SIZE=1000 body=8BITMIME");
  assertEquals(parsed?.address, "a@example.test");
  assertEquals([...parsed!.params], [["SIZE", "1000"], ["BODY", "8BITMIME"]]);
  assertEquals(parsePathArgument("<>")?.address, "");
  assertEquals(parsePathArgument(" <a@example.test>")?.address, "a@example.test");
  assertEquals(
    parsePathArgument("<@relay.test,@b.test:u@example.test>")?.address,
    "u@example.test",
  );
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
      "<a@x.test> =x",
    ]
  ) {
    assertEquals(parsePathArgument(bad), undefined, bad);
  }
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
