// The names a reverse lookup asks for (RFC 1035 §3.5, RFC 3596 §2.5): the address's octets
// or nibbles in reverse, under in-addr.arpa or ip6.arpa.

import { assertEquals } from "../../test/assert.ts";
import { parseIp } from "../net/mod.ts";
import { reverseName } from "./rdns.ts";

Deno.test("reverseName() builds in-addr.arpa and ip6.arpa names", () => {
  assertEquals(reverseName(parseIp("192.0.2.1")!), "1.2.0.192.in-addr.arpa");
  assertEquals(
    reverseName(parseIp("2001:db8::1")!),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
});
