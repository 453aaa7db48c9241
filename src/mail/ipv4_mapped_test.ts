// IPv4-mapped addresses: only `::ffff:` followed by a dotted quad is unwrapped.

import { assertEquals } from "../../test/assert.ts";
import { unmapIpv4 } from "./mod.ts";

Deno.test("unmapIpv4() unwraps IPv4-mapped addresses and leaves others alone", () => {
  assertEquals(unmapIpv4("::ffff:192.0.2.1"), "192.0.2.1");
  assertEquals(unmapIpv4("192.0.2.1"), "192.0.2.1");
  assertEquals(unmapIpv4("::1"), "::1");
  assertEquals(unmapIpv4("::ffff:c000:201"), "::ffff:c000:201");
  assertEquals(unmapIpv4("2001:db8::ffff:1"), "2001:db8::ffff:1");
});
