import { assertEquals, assertRejects } from "../../test/assert.ts";
import { parseConfig } from "../config/mod.ts";
import { writeDbTable } from "./db_format.ts";
import { compileRegexKey } from "./regex_table.ts";
import { TableReloadError } from "./reloadable.ts";
import { openTables } from "./registry.ts";
import { TableLoadError } from "./table_error.ts";
import { TableSet } from "./table_set.ts";

function configOf(dir: string, tableLine: string, criterion = "mail-from regex <senders>") {
  const text = `${tableLine}\nmatch from any ${criterion} for any action "a"\naction "a" mbox\n`;
  const { config, diagnostics } = parseConfig(text, { file: `${dir}/smtpd.conf` });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return config;
}

Deno.test("compileRegexKey() is unanchored and (?i) makes it case-insensitive", () => {
  assertEquals(compileRegexKey("b@ex").test("bob@example.org"), true);
  assertEquals(compileRegexKey("^B").test("bob"), false);
  assertEquals(compileRegexKey("(?i)^B").test("bob"), true);
});

Deno.test("TableSet.open() refuses a regex table with a bad pattern, naming table, file and line", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/senders`, "# senders\n^alice@\n\n(unclosed\n");
  await Deno.writeTextFile(`${dir}/senders.yaml`, "- ^alice@\n- '[z-a]'\n");
  await writeDbTable(`${dir}/senders.db`, { shape: "list", entries: [["^a", "^a"], ["*", "*"]] });
  const cases: [string, string][] = [
    [
      "table senders file:senders",
      `from "${dir}/senders", line 4: invalid regular expression "(unclosed": Unmatched ( or \\(`,
    ],
    [
      "table senders yaml:senders.yaml",
      `from "${dir}/senders.yaml", line 2: invalid regular expression "[z-a]": Invalid range end`,
    ],
    [
      "table senders db:senders.db",
      `from "${dir}/senders.db": invalid regular expression "*": Invalid preceding regular expression`,
    ],
    [
      'table senders { "^a", "b{1" }',
      `from "${dir}/smtpd.conf", line 1: invalid regular expression "b{1": Unmatched \\{`,
    ],
  ];
  for (const [declaration, expected] of cases) {
    const config = configOf(dir, declaration);
    const error = await assertRejects(
      () => TableSet.open(config, { baseDir: dir }),
      TableLoadError,
    );
    assertEquals(error.message, `Cannot load table "senders" ${expected}`);
    await assertRejects(() => openTables(config, { baseDir: dir }), TableLoadError, expected);
  }
  // The same table read as anything but patterns is not checked.
  const plain = configOf(dir, "table senders file:senders", "mail-from <senders>");
  (await TableSet.open(plain, { baseDir: dir })).close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TableSet.open() refuses an inline regex with a bad pattern at its config line", async () => {
  const dir = await Deno.makeTempDir();
  const text = `action "a" mbox\n\nmatch from any mail-from regex "a(" for any action "a"\n`;
  const { config } = parseConfig(text, { file: `${dir}/smtpd.conf` });
  await assertRejects(
    () => TableSet.open(config!, { baseDir: dir }),
    TableLoadError,
    `from "${dir}/smtpd.conf", line 3: invalid regular expression "a(": Unmatched ( or \\(`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TableSet.open() refuses an sqlite regex table: it cannot list its patterns", async () => {
  const dir = await Deno.makeTempDir();
  const { DatabaseSync } = await import("node:sqlite");
  new DatabaseSync(`${dir}/s.db`).close();
  await Deno.writeTextFile(`${dir}/s.conf`, "dbpath s.db\nquery_mailaddr SELECT 1 WHERE ? = 1\n");
  await assertRejects(
    () => TableSet.open(configOf(dir, "table senders sqlite:s.conf"), { baseDir: dir }),
    TableLoadError,
    `Cannot load table "senders" from "${dir}/s.conf": a regex table must list its patterns`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TableSet.reload() keeps a regex table whose new pattern is bad, naming the line", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/senders`, "^alice@\n");
  const set = await TableSet.open(configOf(dir, "table senders file:senders"), { baseDir: dir });
  await Deno.writeTextFile(`${dir}/senders`, "^bob@\n[\n");
  const error = await assertRejects(() => set.reload("senders"), TableReloadError);
  assertEquals(
    error.message,
    `Table "senders" (file:${dir}/senders) was not reloaded, it keeps its contents: ` +
      `Cannot load table "senders" from "${dir}/senders", line 2: ` +
      `invalid regular expression "[": Unmatched [, [^, [:, [., or [=`,
  );
  assertEquals([...set.get("senders")!.keys()], ["^alice@"]);
  assertEquals((await set.reloadAll()).map((f) => f.table), ["senders"]);
  await Deno.writeTextFile(`${dir}/senders`, "^bob@\n");
  assertEquals(await set.reloadAll(), []);
  assertEquals([...set.get("senders")!.keys()], ["^bob@"]);
  set.close();
  await Deno.remove(dir, { recursive: true });
});
