import { assertEquals } from "../../test/assert.ts";
import { parseAliases, splitValues } from "./aliases_text.ts";

Deno.test("parseAliases() reads entries, comments and both kinds of continuation", () => {
  const text = [
    "# system aliases",
    "Root: gilles, eric",
    "staff: a@example.org,",
    "  b@example.org,",
    "\tc",
    "lists: one, \\",
    "two",
    "",
    'pipe: "|/usr/bin/filter -a, -b", /var/mail/archive',
  ].join("\n");
  assertEquals(parseAliases(text), {
    entries: [
      ["root", "gilles, eric"],
      ["staff", "a@example.org, b@example.org, c"],
      ["lists", "one, two"],
      ["pipe", '"|/usr/bin/filter -a, -b", /var/mail/archive'],
    ],
    lines: [2, 3, 6, 9],
    errors: [],
  });
});

Deno.test("parseAliases() reports lines without a value or a name", () => {
  const { entries, errors } = parseAliases("root gilles\nempty:\nok: x\n:x\nalone\n");
  assertEquals(entries, [["root", "gilles"], ["ok", "x"]]);
  assertEquals(errors, [
    { line: 2, message: 'alias "empty" has no value' },
    { line: 4, message: 'no key before ":" in ":x"' },
    { line: 5, message: 'alias "alone" has no value' },
  ]);
});

Deno.test("splitValues() drops empty items", () => {
  assertEquals(splitValues(" a ,, b,"), ["a", "b"]);
});
