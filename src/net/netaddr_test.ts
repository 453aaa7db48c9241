import { assertEquals } from "../../test/assert.ts";
import { blockContains, formatNetBlock, parseIp, parseNetBlock } from "./netaddr.ts";

const CASES: readonly [block: string, address: string, inside: boolean][] = [
  ["192.0.2.0/24", "192.0.2.77", true],
  ["192.0.2.0/24", "192.0.3.1", false],
  ["192.0.2.1", "192.0.2.1", true],
  ["192.0.2.1", "192.0.2.2", false],
  ["0.0.0.0/0", "203.0.113.9", true],
  ["127.0.0.1", "127.0.0.2", false],
  ["2001:db8::/32", "2001:db8:1::5", true],
  ["2001:db8::/32", "2001:db9::5", false],
  ["::1", "::1", true],
  ["[::1]", "::1", true],
  ["::/0", "192.0.2.1", false],
  ["::ffff:192.0.2.0/120", "::ffff:192.0.2.9", true],
];

Deno.test("blockContains() matches addresses against CIDR blocks of both families", () => {
  for (const [blockText, addressText, inside] of CASES) {
    const block = parseNetBlock(blockText);
    const ip = parseIp(addressText);
    if (!block || !ip) throw new Error(`unparsable case ${blockText} ${addressText}`);
    assertEquals(blockContains(block, ip), inside, `${addressText} in ${blockText}`);
  }
});

Deno.test("parseNetBlock() refuses malformed addresses and prefixes", () => {
  for (const bad of ["192.0.2", "192.0.2.256", "192.0.2.0/33", "2001:db8::/129", "1:2:3", "x"]) {
    assertEquals(parseNetBlock(bad), undefined, bad);
  }
});

Deno.test("formatNetBlock() writes canonical IPv4 and RFC 5952 IPv6 text", () => {
  const cases: readonly [string, string][] = [
    ["192.0.2.7/24", "192.0.2.0/24"],
    ["192.0.2.7", "192.0.2.7"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["[2001:db8::]/32", "2001:db8::/32"],
    ["::1", "::1"],
    ["::", "::"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["fe80::1:0:0:0/64", "fe80::/64"],
  ];
  for (const [text, canonical] of cases) {
    assertEquals(formatNetBlock(parseNetBlock(text)!), canonical, text);
  }
});
