// Address splitting: the last `@` divides, an address without one is all local part, and
// only a `+` after the first character starts a tag.

import { assertEquals } from "../../test/assert.ts";
import { splitAddress, untaggedLocal } from "./mod.ts";

Deno.test("splitAddress() splits at the last @ and keeps case", () => {
  const cases: [string, string, string][] = [
    ["alice@example.org", "alice", "example.org"],
    ["Alice@Example.ORG", "Alice", "Example.ORG"],
    ['"a@b"@example.org', '"a@b"', "example.org"],
    ["postmaster", "postmaster", ""],
    ["@example.org", "", "example.org"],
    ["alice@", "alice", ""],
    ["", "", ""],
  ];
  for (const [address, local, domain] of cases) {
    assertEquals(splitAddress(address), { local, domain }, address);
  }
});

Deno.test("untaggedLocal() drops a +tag but not a leading +", () => {
  assertEquals(untaggedLocal("alice+lists"), "alice");
  assertEquals(untaggedLocal("alice+a+b"), "alice");
  assertEquals(untaggedLocal("alice"), "alice");
  assertEquals(untaggedLocal("+alice"), "+alice");
  assertEquals(untaggedLocal(""), "");
});
