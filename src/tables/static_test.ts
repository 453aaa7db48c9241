import { assertEquals } from "../../test/assert.ts";
import { runTableContract } from "./_table_contract.ts";
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
