import { assertEquals, assertRejects } from "../../test/assert.ts";
import { ReloadableTable, TableReloadError } from "./reloadable.ts";
import { StaticTable } from "./static.ts";
import type { Table } from "./table.ts";

Deno.test("ReloadableTable delegates to the latest load and closes the one it replaces", async () => {
  const closed: string[] = [];
  let generation = 0;
  const load = (): Promise<Table> => {
    const n = ++generation;
    const table = StaticTable.fromList("t", [`v${n}.example`]);
    return Promise.resolve(Object.assign(table, { close: () => closed.push(`v${n}`) }));
  };
  const table = await ReloadableTable.open("t", { load, source: "test" });
  assertEquals(table.match("domain", "v1.example"), true);
  await table.reload();
  assertEquals([table.match("domain", "v1.example"), table.match("domain", "v2.example")], [
    false,
    true,
  ]);
  assertEquals(closed, ["v1"]);
});

Deno.test("ReloadableTable.reload() failing leaves the table as it was", async () => {
  let fail = false;
  const load = () =>
    fail
      ? Promise.reject(new Error("disk on fire"))
      : Promise.resolve(StaticTable.fromList("t", ["a"]));
  const table = await ReloadableTable.open("t", { load, source: "file:/etc/mail/t" });
  fail = true;
  await assertRejects(
    () => table.reload(),
    TableReloadError,
    'Table "t" (file:/etc/mail/t) was not reloaded, it keeps its contents: disk on fire',
  );
  assertEquals(table.match("string", "a"), true);
});
