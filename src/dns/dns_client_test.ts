// queryDns() against a DNS server of the test's own: the AD bit as the resolver set it,
// TCP when UDP was truncated, the rcode of a failed or missing name, and a silent server.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { startDnssecServer } from "../../test/_dnssec_server.ts";
import {
  DnsTransportError,
  parseNameServers,
  parseResolvConf,
  queryDns,
  systemResolver,
} from "./mod.ts";

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

Deno.test("parseResolvConf() reads timeout, attempts and rotate, with resolv.conf(5)'s defaults", () => {
  assertEquals(parseResolvConf("nameserver 192.0.2.1\n"), {
    servers: [{ ipAddr: "192.0.2.1", port: 53 }],
    timeoutMs: 5_000,
    attempts: 2,
    rotate: false,
  });
  assertEquals(
    parseResolvConf("nameserver 192.0.2.1\noptions edns0 timeout:1 attempts:3\noptions rotate\n"),
    { servers: [{ ipAddr: "192.0.2.1", port: 53 }], timeoutMs: 1_000, attempts: 3, rotate: true },
  );
  // Bounded as resolv.conf(5) says; no server named: the local host's.
  assertEquals(parseResolvConf("options timeout:99 attempts:9\n"), {
    servers: [{ ipAddr: "127.0.0.1", port: 53 }],
    timeoutMs: 30_000,
    attempts: 5,
    rotate: false,
  });
});

Deno.test("systemResolver() reads the file again once it has changed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/resolv.conf`;
  try {
    await Deno.writeTextFile(path, "nameserver 192.0.2.1\n");
    assertEquals((await systemResolver(path)).servers, [{ ipAddr: "192.0.2.1", port: 53 }]);
    await Deno.writeTextFile(path, "nameserver 192.0.2.22\noptions timeout:1\n");
    const changed = await systemResolver(path);
    assertEquals(changed.servers, [{ ipAddr: "192.0.2.22", port: 53 }]);
    assertEquals(changed.timeoutMs, 1_000);
    await Deno.remove(path);
    assertEquals((await systemResolver(path)).servers, [{ ipAddr: "127.0.0.1", port: 53 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A UDP socket that counts the queries it receives and answers none. */
function deadServer() {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const counter = { port: (socket.addr as Deno.NetAddr).port, received: 0 };
  const reading = (async () => {
    try {
      for (;;) {
        await socket.receive();
        counter.received++;
      }
    } catch {
      // Closed.
    }
  })();
  return {
    counter,
    async stop() {
      socket.close();
      await reading;
    },
  };
}

Deno.test("queryDns() asks each server once per attempt, in turn, as resolv.conf says", async () => {
  const dead = deadServer();
  const live = await startDnssecServer({ "plain.test": { A: ["192.0.2.7"] } });
  const settings = parseResolvConf("options timeout:1 attempts:2\n");
  const server = (port: number) => ({ ipAddr: "127.0.0.1", port });
  try {
    // A dead first server costs one timeout, then the second answers.
    const answer = await queryDns("plain.test", "A", {
      resolver: { ...settings, servers: [server(dead.counter.port), server(live.port)] },
    });
    assertEquals(answer.records.map((r) => "value" in r && r.value), ["192.0.2.7"]);
    assertEquals(dead.counter.received, 1);
    assertEquals(live.queries, ["plain.test A udp"]);
    // Nobody answers: attempts rounds over the servers, then the error.
    await assertRejects(
      () =>
        queryDns("plain.test", "A", {
          resolver: { ...settings, attempts: 3, servers: [server(dead.counter.port)] },
          timeoutMs: 100,
        }),
      DnsTransportError,
    );
    assertEquals(dead.counter.received, 1 + 3);
    // rotate: each query starts at the next server.
    const other = await startDnssecServer({ "plain.test": { A: ["192.0.2.7"] } });
    try {
      const rotating = {
        ...settings,
        rotate: true,
        servers: [server(live.port), server(other.port)],
      };
      for (let n = 0; n < 4; n++) await queryDns("plain.test", "A", { resolver: rotating });
      assertEquals([live.queries.length - 1, other.queries.length], [2, 2]);
    } finally {
      await other.stop();
    }
  } finally {
    await dead.stop();
    await live.stop();
  }
});
