// The RFC 5322 date: day and month names, an unpadded day, padded time, always +0000.

import { assertEquals } from "../../test/assert.ts";
import { rfc5322Date } from "./mod.ts";

Deno.test("rfc5322Date() writes the UTC date-time RFC 5322 §3.3 describes", () => {
  assertEquals(rfc5322Date(Date.UTC(2026, 10, 25, 5, 38, 26)), "Wed, 25 Nov 2026 05:38:26 +0000");
  assertEquals(rfc5322Date(Date.UTC(2027, 0, 3, 0, 0, 9)), "Sun, 3 Jan 2027 00:00:09 +0000");
  assertEquals(rfc5322Date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
});
