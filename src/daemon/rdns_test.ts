// The names a reverse lookup asks for (RFC 1035 §3.5, RFC 3596 §2.5: the address's octets
// or nibbles in reverse, under in-addr.arpa or ip6.arpa), and what the resolver keeps of
// the answers from a DNS server of the test's own.

import { assertEquals } from "../../test/assert.ts";
import { parseIp } from "../net/mod.ts";
import { createRdnsResolver, reverseName } from "./rdns.ts";
import { startDnsServer } from "../../test/_dns_server.ts";

Deno.test("reverseName() builds in-addr.arpa and ip6.arpa names", () => {
  assertEquals(reverseName(parseIp("192.0.2.1")!), "1.2.0.192.in-addr.arpa");
  assertEquals(
    reverseName(parseIp("2001:db8::1")!),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
});

Deno.test("createRdnsResolver() keeps the PTR name that does not resolve back, unconfirmed", async () => {
  const dns = await startDnsServer({
    "55.2.0.192.in-addr.arpa": { PTR: ["liar.example.test."] },
    "liar.example.test": { A: ["198.51.100.1"] },
    "56.2.0.192.in-addr.arpa": { PTR: ["honest.example.test."] },
    "honest.example.test": { A: ["192.0.2.56"] },
  });
  try {
    const resolve = createRdnsResolver({ nameServer: { ipAddr: "127.0.0.1", port: dns.port } });
    // OpenSMTPD's `from rdns` holds for any PTR name; only the builtin filters' fcrdns
    // asks for the confirmation.
    assertEquals(await resolve("192.0.2.55"), { name: "liar.example.test", confirmed: false });
    assertEquals(await resolve("192.0.2.56"), { name: "honest.example.test", confirmed: true });
    assertEquals(await resolve("192.0.2.57"), undefined);
  } finally {
    await dns.stop();
  }
});
