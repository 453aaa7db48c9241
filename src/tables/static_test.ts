import { assertEquals } from "../../test/assert.ts";
import { runTableContract } from "./_table_contract.ts";
import { matchMailaddrKey } from "./key_match.ts";
import { serviceRefusal } from "./services.ts";
import { StaticTable } from "./static.ts";

runTableContract(
  "static",
  (name, contents) => Promise.resolve(new StaticTable(name, contents.shape, contents.entries)),
);

Deno.test("StaticTable.match() with `*` matches every domain but the empty one", () => {
  const table = StaticTable.fromList("any", ["*"]);
  assertEquals(table.match("domain", "whatever.test"), true);
  assertEquals(table.match("domain", ""), false);
});

Deno.test("serviceRefusal() names the table and the service a list cannot serve", () => {
  const table = StaticTable.fromList("domains", ["example.org"]);
  assertEquals(serviceRefusal(table, "alias"), 'table "domains" cannot be used for alias lookups');
  assertEquals(serviceRefusal(table, "domain"), undefined);
});

Deno.test("StaticTable mailaddr index agrees with matchMailaddrKey() on mixed entries", () => {
  const entries = ["a@x.test", "a+t@x.test", "@y.test", "b", "b+t", "c@", "@", "d@e@x.test"];
  const addresses = [
    "a@x.test",
    "a+t@x.test",
    "a+u@x.test",
    "A@X.TEST",
    "z@y.test",
    "b@any.test",
    "b+t@any.test",
    "b+u",
    "c@",
    "c",
    "@",
    "d@e@x.test",
    "x.test",
    "",
    "+t@x.test",
  ];
  const table = StaticTable.fromList("mixed", entries);
  const lowered = new Set(entries.map((e) => e.toLowerCase()));
  for (const address of addresses) {
    const expected = matchMailaddrKey(address, (k) => lowered.has(k));
    assertEquals(table.match("mailaddr", address), expected, address);
  }
});

Deno.test("StaticTable.match() reads `*` in domains as OpenSMTPD's hostname_match()", () => {
  const table = StaticTable.fromList("globs", ["mx*.example.org", "*.example.net"]);
  assertEquals(table.match("domain", "MX1.example.org"), true);
  assertEquals(table.match("domain", "mail.example.org"), false);
  assertEquals(table.match("domain", "a.example.net"), true);
  assertEquals(table.match("domain", "b.a.example.net"), false);
  const senders = StaticTable.fromList("senders", ["ann@mx*.example.org"]);
  assertEquals(senders.match("mailaddr", "Ann+x@mx2.Example.org"), true);
  assertEquals(senders.match("mailaddr", "ann@www.example.org"), false);
});

Deno.test("StaticTable.lookup() answers the last of keys equal ignoring case", () => {
  // An inline `{ dup = alice, DUP = carol }`: OpenSMTPD lowercases keys as it adds them.
  const table = new StaticTable("t", "map", [["dup", "alice"], ["DUP", "carol"]]);
  assertEquals([table.lookup("alias", "dup"), table.lookup("alias", "DUP")], ["carol", "carol"]);
});
