import { DatabaseSync } from "node:sqlite";
import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../test/assert.ts";
import { runTableContract } from "./_table_contract.ts";
import { DbTable } from "./db.ts";
import { DuplicateKeyError, writeDbTable } from "./db_format.ts";
import { TableLoadError } from "./table_error.ts";

runTableContract("db", async (name, contents) => {
  const dir = await Deno.makeTempDir();
  await writeDbTable(`${dir}/${name}.db`, contents);
  const table = DbTable.open(name, `${dir}/${name}.db`);
  await Deno.remove(dir, { recursive: true });
  return table;
});

Deno.test("writeDbTable() refuses duplicate keys, naming their lines, and leaves the db", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/aliases.db`;
  await writeDbTable(path, { shape: "map", entries: [["root", "gilles"]] });
  const error = await assertRejects(
    () =>
      writeDbTable(path, {
        shape: "map",
        entries: [["root", "eric"], ["abuse", "root"], ["ROOT", "bob"], ["root", "carol"]],
        lines: [1, 2, 5, 7],
      }),
    DuplicateKeyError,
  );
  assertEquals((error as DuplicateKeyError).duplicates, [{ key: "ROOT", line: 5 }, {
    key: "root",
    line: 7,
  }]);
  const table = DbTable.open("aliases", path);
  assertEquals(table.lookup("alias", "root"), "gilles");
  table.close();
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["aliases.db"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DbTable keeps answering from its file while makemap replaces it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/domains.db`;
  await writeDbTable(path, { shape: "list", entries: [["old.example", "old.example"]] });
  const before = DbTable.open("domains", path);
  await writeDbTable(path, { shape: "list", entries: [["new.example", "new.example"]] });
  assertEquals(before.match("domain", "old.example"), true);
  const after = DbTable.open("domains", path);
  assertEquals(after.match("domain", "new.example"), true);
  assertEquals(after.match("domain", "old.example"), false);
  before.close();
  after.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DbTable.open() names the table and the path of a missing or foreign file", async () => {
  const dir = await Deno.makeTempDir();
  assertThrows(
    () => DbTable.open("aliases", `${dir}/missing.db`),
    Error,
    `Cannot load table "aliases" from "${dir}/missing.db"`,
  );
  const foreign = new DatabaseSync(`${dir}/foreign.db`);
  foreign.exec("CREATE TABLE t (x)");
  foreign.close();
  assertThrows(
    () => DbTable.open("aliases", `${dir}/foreign.db`),
    Error,
    `Cannot load table "aliases" from "${dir}/foreign.db": not a table db written by makemap`,
  );
  await Deno.writeTextFile(`${dir}/text.db`, "root: gilles\n");
  assertThrows(() => DbTable.open("aliases", `${dir}/text.db`), Error, `${dir}/text.db`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DbTable.open() refuses a damaged table db instead of failing lookup by lookup", async () => {
  const dir = await Deno.makeTempDir();
  const entries = Array.from({ length: 400 }, (_, i) => [`user${i}`, `v${i}`] as const);
  await writeDbTable(`${dir}/aliases.db`, { shape: "map", entries });
  const bytes = await Deno.readFile(`${dir}/aliases.db`);
  // Scribble over the second page: a b-tree page of the entries.
  const pageSize = (bytes[16]! << 8) | bytes[17]!;
  bytes.fill(0x41, pageSize + 8, pageSize + 64);
  await Deno.writeFile(`${dir}/damaged.db`, bytes);
  const error = assertThrows(() => DbTable.open("aliases", `${dir}/damaged.db`), TableLoadError);
  assertStringIncludes(
    error.message,
    `Cannot load table "aliases" from "${dir}/damaged.db": the table db is damaged: `,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DbTable matches netaddr entries of many prefix lengths without scanning", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nets.db`;
  const entries: [string, string][] = [];
  for (let i = 0; i < 2000; i++) {
    const key = `10.${i >> 8}.${i & 255}.0/24`;
    entries.push([key, key]);
  }
  entries.push(["172.16.0.0/12", "172.16.0.0/12"], ["[2001:db8::1]", "[2001:db8::1]"]);
  await writeDbTable(path, { shape: "list", entries });
  const table = DbTable.open("nets", path);
  assertEquals(table.match("netaddr", "10.7.200.9"), true);
  assertEquals(table.match("netaddr", "10.8.0.1"), false);
  assertEquals(table.match("netaddr", "172.31.255.255"), true);
  assertEquals(table.match("netaddr", "2001:db8:0:0::1"), true);
  assertEquals(table.match("netaddr", "2001:db8::2"), false);
  table.close();
  await Deno.remove(dir, { recursive: true });
});
