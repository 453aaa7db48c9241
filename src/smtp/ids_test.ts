import { assertEquals, assertMatch } from "../../test/assert.ts";
import { randomHex, unmapIpv4 } from "./ids.ts";

Deno.test("randomHex() gives two lower-case hex digits per byte, different each time", () => {
  assertMatch(randomHex(4), /^[0-9a-f]{8}$/);
  assertMatch(randomHex(8), /^[0-9a-f]{16}$/);
  assertEquals(new Set(Array.from({ length: 20 }, () => randomHex(8))).size, 20);
});

Deno.test("unmapIpv4() unwraps IPv4-mapped addresses and leaves others alone", () => {
  assertEquals(unmapIpv4("::ffff:192.0.2.1"), "192.0.2.1");
  assertEquals(unmapIpv4("192.0.2.1"), "192.0.2.1");
  assertEquals(unmapIpv4("::1"), "::1");
  assertEquals(unmapIpv4("::ffff:c000:201"), "::ffff:c000:201");
  assertEquals(unmapIpv4("2001:db8::ffff:1"), "2001:db8::ffff:1");
});
