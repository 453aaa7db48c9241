import { assertEquals } from "../../test/assert.ts";
import { blockContains, parseIp, parseNetBlock } from "../net/mod.ts";
import { NetSet } from "./net_set.ts";

const BLOCKS = [
  "0.0.0.0/0",
  "192.0.2.0/24",
  "255.255.255.255",
  "128.0.0.0/1",
  "2001:db8::/32",
  "::1",
  "::ffff:192.0.2.0/120",
];
const ADDRESSES = [
  "192.0.2.1",
  "255.255.255.255",
  "128.1.2.3",
  "1.2.3.4",
  "2001:db8::1",
  "2001:db9::1",
  "::1",
  "[::1]",
  "::ffff:192.0.2.7",
  "256.1.1.1",
  "1.2.3",
  "1..2.3",
  "01.2.3.4",
  "",
];

Deno.test("NetSet.has() agrees with blockContains() for every subset of blocks", () => {
  for (let mask = 0; mask < 1 << BLOCKS.length; mask++) {
    const blocks = BLOCKS.filter((_, i) => mask & (1 << i)).map((b) => parseNetBlock(b)!);
    const set = new NetSet(blocks);
    for (const address of ADDRESSES) {
      const ip = parseIp(address);
      const expected = ip !== undefined && blocks.some((b) => blockContains(b, ip));
      assertEquals(set.has(address), expected, `${address} in ${mask}`);
    }
  }
});
