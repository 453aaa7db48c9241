// Byte concatenation: order kept, empty chunks harmless, the result a fresh copy.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { concatBytes } from "./mod.ts";

Deno.test("concatBytes() joins chunks in order into a new array", () => {
  const a = new Uint8Array([1, 2]);
  assertEquals(concatBytes([a, new Uint8Array(), new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
  assertEquals(concatBytes([]), new Uint8Array());
  const copy = concatBytes([a]);
  assertEquals(copy, a);
  assertTrue(copy !== a, "a single chunk is copied");
});
