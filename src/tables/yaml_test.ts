import { assertEquals, assertRejects } from "../../test/assert.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { TableLoadError } from "./table_error.ts";
import { loadYamlTable } from "./yaml.ts";

runTableContract("yaml", async (name, contents) => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/${name}.yaml`, toYaml(contents));
  const table = await loadYamlTable(name, `${dir}/${name}.yaml`);
  await Deno.remove(dir, { recursive: true });
  return table;
});

// Lists as sequences; comma-separated map values as YAML lists, to exercise the joining.
function toYaml(contents: ContractContents): string {
  const q = (s: string) => JSON.stringify(s);
  if (contents.shape === "list") return contents.entries.map(([k]) => `- ${q(k)}\n`).join("");
  return contents.entries.map(([k, v]) => {
    const items = v.split(", ");
    return items.length > 1 ? `${q(k)}: [${items.map(q).join(", ")}]\n` : `${q(k)}: ${q(v)}\n`;
  }).join("");
}

Deno.test("loadYamlTable() reads scalars of any type and an empty file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/users.yaml`, "gilles: 1000\nstaff:\n  - a\n  - b\n");
  const users = await loadYamlTable("users", `${dir}/users.yaml`);
  assertEquals(users.lookup("userinfo", "gilles"), "1000");
  assertEquals(users.lookup("alias", "staff"), "a, b");
  await Deno.writeTextFile(`${dir}/empty.yaml`, "# nothing yet\n");
  const empty = await loadYamlTable("empty", `${dir}/empty.yaml`);
  assertEquals([empty.shape, [...empty.keys()]], ["list", []]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadYamlTable() names the table and the path of a bad or missing file", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(
    () => loadYamlTable("t", `${dir}/missing.yaml`),
    Error,
    `Cannot load table "t" from "${dir}/missing.yaml"`,
  );
  await Deno.writeTextFile(`${dir}/nested.yaml`, "a:\n  b: c\n");
  await assertRejects(
    () => loadYamlTable("t", `${dir}/nested.yaml`),
    Error,
    `Cannot load table "t" from "${dir}/nested.yaml", line 2: "a" must be a string, got a mapping`,
  );
  await Deno.writeTextFile(`${dir}/scalar.yaml`, "just text\n");
  await assertRejects(() => loadYamlTable("t", `${dir}/scalar.yaml`), Error, "list or a mapping");
  await Deno.writeTextFile(`${dir}/broken.yaml`, "a: [b\n");
  await assertRejects(() => loadYamlTable("t", `${dir}/broken.yaml`), Error, `${dir}/broken.yaml`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadYamlTable() names the line of a syntax error and of a value it cannot hold", async () => {
  const dir = await Deno.makeTempDir();
  const refusal = async (text: string) => {
    await Deno.writeTextFile(`${dir}/t.yaml`, text);
    const e = await assertRejects(() => loadYamlTable("t", `${dir}/t.yaml`), TableLoadError);
    return e.message.replace(`Cannot load table "t" from "${dir}/t.yaml", `, "");
  };
  assertEquals(
    await refusal("a: b\nc: d: e\n"),
    "line 2: Nested mappings are not allowed in compact mappings",
  );
  assertEquals(await refusal("a: b\n\tc: d\n"), "line 2: Tabs are not allowed as indentation");
  assertEquals(await refusal("- a\n- b\n- [c]\n"), "line 3: item 3 must be a string, got a list");
  assertEquals(await refusal("a: b\nc:\n"), 'line 2: "c" must be a string, got null');
  assertEquals(await refusal("a: 1\n# x\na: 2\n"), "line 3: Map keys must be unique");
  assertEquals(await refusal("a: b\n---\nc: d\n"), "line 2: the file holds more than one document");
  assertEquals(await refusal("a: b\nc: *nope\n"), 'line 2: alias "*nope" names no anchor');
  assertEquals(await refusal("a: b\nc: !custom d\n"), "line 2: Unresolved tag: !custom");
  // Nesting no table needs, refused before the parser recurses (or spends seconds) on it.
  const deep = "line 2: the document nests more than 64 levels deep";
  assertEquals(await refusal(`a: b\n${"- ".repeat(10_000)}x\n`), deep);
  assertEquals(await refusal(`a: b\n${"[".repeat(10_000)}\n`), deep);
  await Deno.remove(dir, { recursive: true });
});
