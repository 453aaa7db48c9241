// Random ids: lower-case hex, two digits per byte, never the same twice in a row.

import { assertEquals, assertMatch } from "../../test/assert.ts";
import { randomHex } from "./mod.ts";

Deno.test("randomHex() gives two lower-case hex digits per byte, different each time", () => {
  assertMatch(randomHex(4), /^[0-9a-f]{8}$/);
  assertMatch(randomHex(8), /^[0-9a-f]{16}$/);
  assertEquals(new Set(Array.from({ length: 20 }, () => randomHex(8))).size, 20);
});
