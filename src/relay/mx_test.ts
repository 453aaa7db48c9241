import { assertEquals } from "../../test/assert.ts";
import { startDnsServer } from "../../test/_dns_server.ts";
import { resolveMx } from "./mx.ts";
import { startDnssecServer } from "../../test/_dnssec_server.ts";
import { permfail, tempfail } from "../mail/mod.ts";

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

Deno.test("resolveMx(): no MX and a SERVFAIL for the address records is worth another try", async () => {
  const dns = await startDnssecServer({
    "nomxsf.test": { servfail: ["A", "AAAA"] },
    "nomxsfa.test": { servfail: ["A"] },
    "nomxsf6.test": { servfail: ["AAAA"] },
  });
  const options = { nameServer: { ipAddr: "127.0.0.1", port: dns.port } };
  try {
    assertEquals(
      await resolveMx("nomxsf.test", options),
      tempfail("4.4.3 A lookup for nomxsf.test failed: SERVFAIL"),
    );
    assertEquals(
      await resolveMx("nomxsfa.test", options),
      tempfail("4.4.3 A lookup for nomxsfa.test failed: SERVFAIL"),
    );
    assertEquals(
      await resolveMx("nomxsf6.test", options),
      tempfail("4.4.3 AAAA lookup for nomxsf6.test failed: SERVFAIL"),
    );
  } finally {
    await dns.stop();
  }
});

Deno.test("resolveMx(): a domain that exists with no MX and no address says so", async () => {
  const dns = await startDnssecServer({ "nodata.test": {} });
  const options = { nameServer: { ipAddr: "127.0.0.1", port: dns.port } };
  try {
    assertEquals(
      await resolveMx("nodata.test", options),
      permfail("5.1.2 domain nodata.test has no MX and no address record"),
    );
    assertEquals(
      await resolveMx("nowhere.test", options),
      permfail("5.1.2 domain nowhere.test does not exist"),
    );
  } finally {
    await dns.stop();
  }
});

Deno.test("resolveMx(): an MX named localhost takes no mail, in any spelling", async () => {
  const dns = await startDnsServer({
    "lo.test": { MX: [[10, "localhost"]] },
    "lodot.test": { MX: [[10, "LocalHost."]] },
    "mixed.test": { MX: [[10, "localhost"], [20, "mx.mixed.test"]] },
  });
  const options = { nameServer: { ipAddr: "127.0.0.1", port: dns.port } };
  try {
    for (const domain of ["lo.test", "lodot.test"]) {
      assertEquals(
        await resolveMx(domain, options),
        permfail(`5.1.10 ${domain} does not accept mail (its MX is localhost)`),
      );
    }
    // OpenSMTPD's dns.c: the other MX hosts still serve.
    assertEquals(await resolveMx("mixed.test", options), {
      kind: "hosts",
      hosts: ["mx.mixed.test"],
      preferences: [20],
    });
  } finally {
    await dns.stop();
  }
});

Deno.test("resolveMx(): MX hosts of equal preference come in random order", async () => {
  const dns = await startDnsServer({
    "equal.test": { MX: [[10, "e1.equal.test"], [10, "e2.equal.test"], [20, "backup.equal.test"]] },
  });
  const options = { nameServer: { ipAddr: "127.0.0.1", port: dns.port } };
  try {
    const firsts = new Set<string>();
    for (let draw = 0; draw < 64; draw++) {
      const found = await resolveMx("equal.test", options);
      if (found.kind !== "hosts") throw new Error(`no hosts: ${JSON.stringify(found)}`);
      firsts.add(found.hosts[0]!);
      // The lower preference still goes first, the backup last.
      assertEquals(found.hosts[2], "backup.equal.test");
      assertEquals(found.preferences, [10, 10, 20]);
    }
    assertEquals([...firsts].sort(), ["e1.equal.test", "e2.equal.test"]);
  } finally {
    await dns.stop();
  }
});
