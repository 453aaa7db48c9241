import { assertEquals, assertRejects } from "../../test/assert.ts";
import { loadTableFile, parseTableFile } from "./file.ts";

Deno.test("parseTableFile() reads a list with comments and blank lines", () => {
  const table = parseTableFile(
    "domains",
    "# our domains\nexample.org\n\n  example.net  # backup\n",
  );
  assertEquals(table.shape, "list");
  assertEquals([...table.keys()], ["example.org", "example.net"]);
  assertEquals(table.has("example.net"), true);
});

Deno.test("parseTableFile() reads a map whose values may be lists", () => {
  const table = parseTableFile("aliases", "root  gilles\nstaff a@example.org,b , c\n");
  assertEquals(table.shape, "map");
  assertEquals(table.get("root"), "gilles");
  assertEquals(table.get("staff"), "a@example.org, b, c");
});

Deno.test("loadTableFile() names the table and the path when the file is missing", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(
    () => loadTableFile("aliases", `${dir}/nope`),
    Error,
    `Cannot load table "aliases" from "${dir}/nope"`,
  );
  await Deno.remove(dir, { recursive: true });
});
