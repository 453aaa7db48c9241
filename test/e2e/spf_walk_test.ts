// `smtpctl spf walk` against the test's own DNS: what it prints for each qualifier, the
// dual CIDR lengths of a: and mx: (RFC 7208 §5.6), and a bad term skipped, not fatal.

import { assertEquals } from "../assert.ts";
import { type DnsZone, startDnsServer } from "../_dns_server.ts";
import { smtpctl } from "./_smtpctl.ts";

const ZONE: DnsZone = {
  "walk.test": {
    TXT: [
      "v=spf1 -ip4:10.0.0.0/8 ~ip4:172.16.0.0/12 ?ip4:198.18.0.1 +ip4:192.0.2.0/24 " +
      "include:deny.walk.test -all",
    ],
  },
  "deny.walk.test": { TXT: ["v=spf1 -ip6:2001:db8:bad::/48 ip6:2001:db8:900d::/48 -all"] },
  "cidr.walk.test": {
    TXT: ["v=spf1 a:h.walk.test/24 a:h6.walk.test/24//64 a//96 mx/28 ip4:192.0.2.9 -all"],
    A: ["203.0.113.7"],
    AAAA: ["2001:db8:3::7"],
    MX: [[10, "mx.walk.test"]],
  },
  "h.walk.test": { A: ["203.0.113.5"], AAAA: ["2001:db8:1::5"] },
  "h6.walk.test": { A: ["203.0.113.6"], AAAA: ["2001:db8:2::6"] },
  "mx.walk.test": { A: ["203.0.113.8"], AAAA: ["2001:db8:4::8"] },
  "bad.walk.test": { TXT: ["v=spf1 a:h.walk.test/99 ip4:192.0.2.10 -all"] },
};

async function walk(domains: string) {
  const dns = await startDnsServer(ZONE);
  try {
    return await smtpctl("/nonexistent/smtpd.conf", ["spf", "walk"], {
      stdin: domains,
      env: { SMTPCTL_NAMESERVER: `127.0.0.1:${dns.port}` },
    });
  } finally {
    await dns.stop();
  }
}

Deno.test("smtpctl spf walk prints what + and ? allow, never what - or ~ deny", async () => {
  // As OpenSMTPD's spfwalk: terms qualified - or ~ are skipped, + and ? walked.
  const run = await walk("walk.test\n");
  assertEquals([run.code, run.stderr], [0, ""]);
  assertEquals(run.stdout.split("\n").filter((l) => l !== ""), [
    "198.18.0.1",
    "192.0.2.0/24",
    "2001:db8:900d::/48",
  ]);
});

Deno.test("smtpctl spf walk gives A results the ip4 length and AAAA results the ip6 one", async () => {
  // RFC 7208 §5.6: a:host/24//64 is /24 for its A records and /64 for its AAAA records.
  const run = await walk("cidr.walk.test\n");
  assertEquals([run.code, run.stderr], [0, ""]);
  assertEquals(run.stdout.split("\n").filter((l) => l !== ""), [
    "203.0.113.5/24",
    "2001:db8:1::5",
    "203.0.113.6/24",
    "2001:db8:2::6/64",
    "203.0.113.7",
    "2001:db8:3::7/96",
    "203.0.113.8/28",
    "2001:db8:4::8",
    "192.0.2.9",
  ]);
});

Deno.test("smtpctl spf walk skips a term it cannot read and walks the rest", async () => {
  const run = await walk("bad.walk.test\n");
  assertEquals(run.code, 0);
  assertEquals(run.stdout, "192.0.2.10\n");
  assertEquals(
    run.stderr,
    'smtpctl: spf walk bad.walk.test: term "a:h.walk.test/99" skipped: bad CIDR length\n',
  );
});
