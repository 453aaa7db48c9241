// SRS: the addresses OpenSMTPD's srs.c would write (hash = base64(SHA1(key || rest))[0..4],
// day = days since the epoch mod 1024 in two base32 digits), and the checks on the way back.

import { assertEquals } from "../../test/assert.ts";
import { srsDecode, srsEncode } from "./mod.ts";

const DAY = 86_400_000;
// Day 20000 since the epoch: 20000 mod 1024 = 544 = 17·32 + 0, "RA".
const NOW = 20000 * DAY + 3_600_000;

Deno.test("srsEncode() writes SRS0 for a plain sender and SRS1 for an SRS0 one", () => {
  const srs0 = srsEncode("alice@example.org", "fwd.test", { key: "secret" }, NOW);
  assertEquals(srs0, "SRS0=vg4W=RA=example.org=alice@fwd.test");
  const srs1 = srsEncode(srs0, "next.test", { key: "other" }, NOW);
  assertEquals(srs1, "SRS1=JrbP=fwd.test==vg4W=RA=example.org=alice@next.test");
  // An address without a domain is left as it is.
  assertEquals(srsEncode("alice", "fwd.test", { key: "secret" }, NOW), "alice");
});

Deno.test("srsDecode() maps back with the key or the backup key, within the ttl", () => {
  const srs0 = "SRS0=vg4W=RA=example.org=alice@fwd.test";
  assertEquals(srsDecode(srs0, { key: "secret" }, NOW), "alice@example.org");
  assertEquals(srsDecode(srs0, { key: "new", backupKey: "secret" }, NOW), "alice@example.org");
  assertEquals(srsDecode(srs0, { key: "new" }, NOW), undefined);
  // A changed hash, a changed address under the same hash.
  assertEquals(srsDecode(srs0.replace("vg4W", "vg4X"), { key: "secret" }, NOW), undefined);
  assertEquals(srsDecode(srs0.replace("alice", "mallory"), { key: "secret" }, NOW), undefined);
  // Four days old passes (the default ttl), five do not; tomorrow's (clock drift) passes.
  assertEquals(srsDecode(srs0, { key: "secret" }, NOW + 4 * DAY), "alice@example.org");
  assertEquals(srsDecode(srs0, { key: "secret" }, NOW + 5 * DAY), undefined);
  assertEquals(srsDecode(srs0, { key: "secret", ttlDays: 10 }, NOW + 5 * DAY), "alice@example.org");
  assertEquals(srsDecode(srs0, { key: "secret" }, NOW - DAY), "alice@example.org");
  assertEquals(srsDecode(srs0, { key: "secret" }, NOW - 2 * DAY), undefined);
  const srs1 = "SRS1=JrbP=fwd.test==vg4W=RA=example.org=alice@next.test";
  assertEquals(srsDecode(srs1, { key: "other" }, NOW), "SRS0=vg4W=RA=example.org=alice@fwd.test");
  assertEquals(srsDecode(srs1, { key: "secret" }, NOW), undefined);
  assertEquals(srsDecode("alice@fwd.test", { key: "secret" }, NOW), undefined);
});
