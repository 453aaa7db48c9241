import { assertEquals } from "../../test/assert.ts";
import { startDnsServer } from "../../test/_dns_server.ts";
import { resolveMx } from "./mx.ts";
import { startDnssecServer } from "../../test/_dnssec_server.ts";
import { tempfail } from "../mail/mod.ts";

Deno.test("resolveMx(): MX hosts by preference, implicit MX, null MX, unknown domains", async () => {
  const dns = await startDnsServer({
    "mx.test": { MX: [[20, "backup.mx.test"], [10, "primary.mx.test"]] },
    "plain.test": { A: ["127.0.0.1"] },
    "nullmx.test": { MX: [[0, "."]] },
  });
  const options = { nameServer: { ipAddr: "127.0.0.1", port: dns.port } };
  try {
    assertEquals(await resolveMx("mx.test", options), {
      kind: "hosts",
      hosts: ["primary.mx.test", "backup.mx.test"],
      preferences: [10, 20],
    });
    assertEquals(await resolveMx("plain.test", options), { kind: "hosts", hosts: ["plain.test"] });
    assertEquals((await resolveMx("nullmx.test", options)).kind, "permfail");
    const unknown = await resolveMx("nowhere.test", options);
    assertEquals(unknown.kind, "permfail");
    assertEquals(await resolveMx("[127.0.0.1]", options), { kind: "hosts", hosts: ["127.0.0.1"] });
  } finally {
    await dns.stop();
  }
});

Deno.test("resolveMx(): a SERVFAIL is a temporary failure, not a domain that does not exist", async () => {
  const dns = await startDnssecServer({ "bogus.test": { servfail: true } });
  try {
    const result = await resolveMx("bogus.test", {
      nameServer: { ipAddr: "127.0.0.1", port: dns.port },
    });
    assertEquals(result, tempfail("4.4.3 MX lookup for bogus.test failed: SERVFAIL"));
  } finally {
    await dns.stop();
  }
});
