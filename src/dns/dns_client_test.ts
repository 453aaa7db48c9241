// queryDns() against a DNS server of the test's own: the AD bit as the resolver set it,
// TCP when UDP was truncated, the rcode of a failed or missing name, and a silent server.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { startDnssecServer } from "../../test/_dnssec_server.ts";
import { DnsTransportError, parseNameServers, queryDns } from "./mod.ts";

Deno.test("queryDns() reports the AD bit, each record type, and the rcode", async () => {
  const dns = await startDnssecServer({
    "signed.test": { MX: [[10, "mx.signed.test"]], secure: true },
    "mx.signed.test": { A: ["127.0.0.1"], secure: true },
    "_25._tcp.mx.signed.test": { TLSA: [[3, 1, 1, "00ff"]], secure: true },
    "plain.test": { MX: [[10, "mx.plain.test"]], TXT: ["v=STSv1; id=1;"] },
    "bogus.test": { servfail: true },
  });
  const nameServer = { ipAddr: "127.0.0.1", port: dns.port };
  try {
    const mx = await queryDns("signed.test", "MX", { nameServer });
    assertEquals(mx, {
      rcode: "NOERROR",
      secure: true,
      records: [{ type: "MX", name: "signed.test", preference: 10, exchange: "mx.signed.test" }],
    });
    const tlsa = await queryDns("_25._tcp.mx.signed.test", "TLSA", { nameServer });
    assertEquals(tlsa.records, [{
      type: "TLSA",
      name: "_25._tcp.mx.signed.test",
      usage: 3,
      selector: 1,
      matchingType: 1,
      data: new Uint8Array([0, 255]),
    }]);
    const plain = await queryDns("plain.test", "MX", { nameServer });
    assertEquals(plain.secure, false);
    assertEquals((await queryDns("plain.test", "TXT", { nameServer })).records, [
      { type: "TXT", name: "plain.test", text: "v=STSv1; id=1;" },
    ]);
    assertEquals((await queryDns("nowhere.test", "A", { nameServer })).rcode, "NXDOMAIN");
    assertEquals((await queryDns("bogus.test", "A", { nameServer })).rcode, "SERVFAIL");
  } finally {
    await dns.stop();
  }
});

Deno.test("queryDns() asks again over TCP when the UDP answer is truncated", async () => {
  const long = "x".repeat(600);
  const dns = await startDnssecServer({
    "big.test": { TXT: [long], truncate: true, secure: true },
  });
  try {
    const answer = await queryDns("big.test", "TXT", {
      nameServer: { ipAddr: "127.0.0.1", port: dns.port },
    });
    assertEquals(answer.records, [{ type: "TXT", name: "big.test", text: long }]);
    assertEquals(answer.secure, true);
    assertEquals(dns.queries, ["big.test TXT udp", "big.test TXT tcp"]);
  } finally {
    await dns.stop();
  }
});

Deno.test("queryDns() fails with DnsTransportError when the server never answers", async () => {
  // A bound socket that reads nothing: the query goes unanswered.
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const port = (silent.addr as Deno.NetAddr).port;
    await assertRejects(
      () =>
        queryDns("quiet.test", "A", { nameServer: { ipAddr: "127.0.0.1", port }, timeoutMs: 200 }),
      DnsTransportError,
      "DNS query quiet.test A failed: no answer within 200 ms",
    );
  } finally {
    silent.close();
  }
});

Deno.test("parseNameServers() reads nameserver lines and skips comments and scoped addresses", () => {
  assertEquals(
    parseNameServers(
      "# local\nnameserver 127.0.0.53\nsearch x\nnameserver fe80::1%eth0\nnameserver ::1 ; v6\n",
    ),
    [{ ipAddr: "127.0.0.53", port: 53 }, { ipAddr: "::1", port: 53 }],
  );
});
