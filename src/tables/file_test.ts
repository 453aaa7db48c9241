import { assertEquals, assertRejects } from "../../test/assert.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { loadTableFile, parseTableEntries, parseTableFile } from "./file.ts";
import { TableLoadError } from "./table_error.ts";

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
    lines: [1, 2, 4],
  });
  assertEquals(parseTableEntries("# @list\nfirst entry\nsecond\n"), {
    shape: "list",
    entries: [["first entry", "first entry"], ["second", "second"]],
    lines: [2, 3],
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

Deno.test("loadTableFile() refuses text that is not UTF-8 or holds NUL, naming the line", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new TextEncoder().encode("alice@example.org\nbob@example.org\nc\xffx\n");
  bytes[bytes.length - 3] = 0xff;
  await Deno.writeFile(`${dir}/latin1`, bytes);
  await assertRejects(
    () => loadTableFile("users", `${dir}/latin1`),
    TableLoadError,
    `Cannot load table "users" from "${dir}/latin1", line 3: the file is not UTF-8 text`,
  );
  await Deno.writeTextFile(`${dir}/nul`, "a\nb\n\nc\0d\n");
  await assertRejects(
    () => loadTableFile("users", `${dir}/nul`),
    TableLoadError,
    `Cannot load table "users" from "${dir}/nul", line 4: the file holds a NUL byte`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseTableFile() knows the line of each key, continuations included", () => {
  const table = parseTableFile("t", "# head\na \\\n  b\n\nc d\n");
  assertEquals([table.lineOf("a"), table.lineOf("c"), table.lineOf("zz")], [2, 5, undefined]);
  assertEquals(table.lookup("alias", "a"), "b");
});

Deno.test("parseTableFile() keeps the last entry of a key written twice, as OpenSMTPD's does", () => {
  // table_static.c replaces the value of a key seen again, saying nothing; makemap
  // refuses such a file, so a db: table never answers otherwise.
  const table = parseTableFile("t", "dup@example.test first\nother x\ndup@example.test second\n");
  assertEquals(table.lookup("alias", "dup@example.test"), "second");
  assertEquals([...table.keys()], ["dup@example.test", "other"]);
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

Deno.test("parseTableFile() adds an indented line to the entry above ending in `,` or `:`", () => {
  const table = parseTableFile("aliases", "staff: alice,\n   bob,\n\tcarol\nroot:\n  gilles\n");
  assertEquals(table.lookup("alias", "staff"), "alice, bob, carol");
  assertEquals(table.lookup("alias", "root"), "gilles");
  assertEquals([...table.keys()], ["staff", "root"]);
  assertEquals([table.lineOf("staff"), table.lineOf("root")], [1, 4]);
});

Deno.test("loadTableFile() refuses an indented line that continues no entry, naming it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "root: gilles\nstaff: alice\n   bob\n");
  await assertRejects(
    () => loadTableFile("aliases", `${dir}/aliases`),
    TableLoadError,
    `Cannot load table "aliases" from "${dir}/aliases", line 3: "bob" is indented as a ` +
      `continuation, but line 2 does not end in "," or ":"`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseTableEntries() ends a key at the first blank or `:`, as OpenSMTPD's parse_table_line", () => {
  assertEquals(parseTableEntries("x: y\nnocolon:carol\nclosed:error:550 closed\n"), {
    shape: "map",
    entries: [["x", "y"], ["nocolon", "carol"], ["closed", "error:550 closed"]],
    lines: [1, 2, 3],
  });
  // An IPv6 address or network is one key, colons and all; `[…]` is one key too.
  assertEquals(parseTableEntries("2001:db8::/32\n::1\n[fe80::1]\n").entries, [
    ["2001:db8::/32", "2001:db8::/32"],
    ["::1", "::1"],
    ["[fe80::1]", "[fe80::1]"],
  ]);
  assertEquals(parseTableEntries("[::1]:localhost\n::ffff:192.0.2.1 v4\n").entries, [
    ["[::1]", "localhost"],
    ["::ffff:192.0.2.1", "v4"],
  ]);
});

Deno.test("parseTableFile() keeps the last of keys equal ignoring case, in any spelling", () => {
  const table = parseTableFile("t", "dup: alice\nDUP: carol\nOther: alice\nother: carol\n");
  for (const key of ["dup", "DUP", "Dup", "other", "Other", "OTHER"]) {
    assertEquals(table.lookup("alias", key), "carol", key);
  }
  const again = parseTableFile("t", "a: 1\nA: 2\na: 3\n");
  assertEquals([again.lookup("alias", "a"), again.lookup("alias", "A")], ["3", "3"]);
});
