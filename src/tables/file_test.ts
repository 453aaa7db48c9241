import { assertEquals, assertRejects } from "../../test/assert.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { loadTableFile, parseTableEntries, parseTableFile } from "./file.ts";

Deno.test("parseTableFile() reads a list with comments and blank lines", () => {
  const table = parseTableFile(
    "domains",
    "# our domains\nexample.org\n\n  example.net  # backup\n",
  );
  assertEquals(table.shape, "list");
  assertEquals([...table.keys()], ["example.org", "example.net"]);
  assertEquals(table.match("domain", "example.net"), true);
});

Deno.test("parseTableFile() reads a map whose values may be lists", () => {
  const table = parseTableFile("aliases", "root  gilles\nstaff a@example.org,b , c\n");
  assertEquals(table.shape, "map");
  assertEquals(table.lookup("alias", "root"), "gilles");
  assertEquals(table.lookup("alias", "staff"), "a@example.org, b, c");
});

Deno.test("parseTableEntries() accepts `key: value`, continuations and `# @list`", () => {
  assertEquals(parseTableEntries("root: gilles\nlist: a, \\\n  b\n::1 localhost\n"), {
    shape: "map",
    entries: [["root", "gilles"], ["list", "a, b"], ["::1", "localhost"]],
  });
  assertEquals(parseTableEntries("# @list\nfirst entry\nsecond\n"), {
    shape: "list",
    entries: [["first entry", "first entry"], ["second", "second"]],
  });
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

runTableContract("file", async (name, contents) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, writeContractText(contents));
  const table = await loadTableFile(name, path);
  await Deno.remove(dir, { recursive: true });
  return table;
});

// table(5) text for the contract's contents: a list is one key a line.
function writeContractText(contents: ContractContents): string {
  const lines = contents.entries.map(([k, v]) => contents.shape === "list" ? k : `${k}  ${v}`);
  return `# written for the contract\n${lines.join("\n")}\n`;
}
