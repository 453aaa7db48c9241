import { assertEquals, assertRejects, assertStringIncludes } from "../../test/assert.ts";
import type { TableDecl } from "../config/mod.ts";
import { writeDbTable } from "./db_format.ts";
import { TableReloadError } from "./reloadable.ts";
import { openTables } from "./registry.ts";
import { servesService } from "./services.ts";
import { TableSet } from "./table_set.ts";

const position = { file: "smtpd.conf", line: 1, column: 1 };

function backend(name: string, kind: string, config: string): TableDecl {
  return { name, source: { kind: "backend", backend: kind, config }, anonymous: false, position };
}

Deno.test("TableSet.reload() swaps new contents into the object rules already hold", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/domains`, "old.example\n");
  await writeDbTable(`${dir}/aliases.db`, { shape: "map", entries: [["root", "gilles"]] });
  await Deno.writeTextFile(`${dir}/users.yaml`, "- gilles\n");
  const set = await TableSet.open({
    tables: [
      backend("domains", "file", "domains"),
      backend("aliases", "db", "aliases.db"),
      backend("users", "yaml", `${dir}/users.yaml`),
      { name: "inline", source: { kind: "list", values: ["a"] }, anonymous: true, position },
    ],
  }, { baseDir: dir });
  const domains = set.get("domains")!;
  const aliases = set.get("aliases")!;
  assertEquals(domains.match("domain", "old.example"), true);
  await Deno.writeTextFile(`${dir}/domains`, "new.example\n");
  await writeDbTable(`${dir}/aliases.db`, { shape: "map", entries: [["root", "eric"]] });
  await set.reload("domains");
  assertEquals(domains.match("domain", "old.example"), false);
  assertEquals(domains.match("domain", "new.example"), true);
  assertEquals(aliases.lookup("alias", "root"), "gilles");
  assertEquals(await set.reloadAll(), []);
  assertEquals(aliases.lookup("alias", "root"), "eric");
  assertEquals(set.tables.get("aliases"), aliases);
  assertEquals(servesService(aliases, "alias"), true);
  assertEquals(servesService(domains, "alias"), false);
  set.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TableSet.reload() keeps the old contents and names table and path on failure", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/domains`, "example.org\n");
  await Deno.writeTextFile(`${dir}/map.yaml`, "root: gilles\n");
  const set = await TableSet.open({
    tables: [backend("domains", "file", "domains"), backend("map", "yaml", "map.yaml")],
  }, { baseDir: dir });
  await Deno.remove(`${dir}/domains`);
  const error = await assertRejects(() => set.reload("domains"), TableReloadError);
  assertStringIncludes(error.message, `Table "domains" (file:${dir}/domains) was not reloaded`);
  assertStringIncludes(error.message, `Cannot load table "domains" from "${dir}/domains"`);
  assertEquals(set.get("domains")!.match("domain", "example.org"), true);
  await Deno.writeTextFile(`${dir}/map.yaml`, "root: [unclosed\n");
  const failures = await set.reloadAll();
  assertEquals(failures.map((f) => f.table), ["domains", "map"]);
  assertEquals(set.get("map")!.lookup("alias", "root"), "gilles");
  await assertRejects(() => set.reload("nope"), TableReloadError, 'Table "nope" (undeclared)');
  set.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTables() names the table and path of a missing file for every backend", async () => {
  const dir = await Deno.makeTempDir();
  for (const kind of ["file", "db", "sqlite", "yaml", "postgres", "mysql", "redis", "ldap"]) {
    await assertRejects(
      () => openTables({ tables: [backend("t", kind, "missing")] }, { baseDir: dir }),
      Error,
      `Cannot load table "t" from "${dir}/missing"`,
    );
  }
  for (const kind of ["socketmap", "proc", "toString"]) {
    await assertRejects(
      () => openTables({ tables: [backend("t", kind, "/etc/x.conf")] }, { baseDir: dir }),
      Error,
      `Cannot load table "t" from "smtpd.conf", line 1: backend "${kind}" is not supported by this build`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});
