// Random ids: lower-case hex, two digits per byte, never the same twice in a row.

import { assertEquals, assertMatch } from "../../test/assert.ts";
import { envelopeIds, randomHex } from "./mod.ts";

Deno.test("randomHex() gives two lower-case hex digits per byte, different each time", () => {
  assertMatch(randomHex(4), /^[0-9a-f]{8}$/);
  assertMatch(randomHex(8), /^[0-9a-f]{16}$/);
  assertEquals(new Set(Array.from({ length: 20 }, () => randomHex(8))).size, 20);
});

Deno.test("randomHex() across refills of its pool and past its size: distinct, every digit used", () => {
  // 2,000 ids of 8 bytes take the 4,096-byte pool several times over.
  const ids = Array.from({ length: 2000 }, () => randomHex(8));
  assertEquals(new Set(ids).size, ids.length);
  for (const id of ids) assertMatch(id, /^[0-9a-f]{16}$/);
  // Every hex digit appears in every position's worth of output (not a stuck pool).
  assertEquals(new Set(ids.join("")).size, 16);
  assertMatch(randomHex(5000), /^[0-9a-f]{10000}$/);
  assertEquals(new Set([randomHex(5000), randomHex(5000)]).size, 2);
});

Deno.test("envelopeIds() gives distinct ids under the message id, none already taken", () => {
  // 200,000 independent draws of 32 bits share one with a probability of 99%.
  const taken = new Set(["0a1b2c3d00000000", "0a1b2c3dffffffff"]);
  const ids = envelopeIds("0a1b2c3d", 200_000, taken);
  assertEquals(ids.length, 200_000);
  assertEquals(new Set(ids).size, 200_000);
  assertEquals(ids.filter((id) => taken.has(id)), []);
  assertEquals(ids.filter((id) => !/^0a1b2c3d[0-9a-f]{8}$/.test(id)), []);
});
