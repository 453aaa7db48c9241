// Hostile configuration text is refused in time proportional to its size: over-long
// lines and tokens get one clear FILE:LINE:COLUMN error, and suggestions are bounded.

import { assertEquals, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { formatDiagnostic, parseConfig } from "./mod.ts";
import { MAX_LINE_LENGTH, MAX_TOKEN_LENGTH } from "./lexer.ts";
import { MAX_SUGGEST_LENGTH, suggest } from "./suggest.ts";

function errorsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.position.file}:${d.position.line}:${d.position.column}: ${d.message}`);
}

Deno.test("parseConfig() refuses a 1 MB line with one error at the column where it goes over", () => {
  const line = "match " + "from any ".repeat(1024 * 1024 / 9);
  const errors = errorsOf(`listen on 127.0.0.1\n${line}\nbogus statement\n`);
  assertEquals(errors, [
    `t.conf:2:${
      MAX_LINE_LENGTH + 1
    }: Line too long: ${line.length} characters, the limit is ${MAX_LINE_LENGTH}`,
    't.conf:3:1: Unknown keyword "bogus"',
  ]);
});

Deno.test("parseConfig() refuses a 100 KB unknown word as a line too long, without a suggestion", () => {
  const word = "acton" + "x".repeat(100 * 1024);
  assertEquals(errorsOf(`${word}\n`), [
    `t.conf:1:${
      MAX_LINE_LENGTH + 1
    }: Line too long: ${word.length} characters, the limit is ${MAX_LINE_LENGTH}`,
  ]);
});

Deno.test("parseConfig() refuses over-long words and quoted strings at their first character", () => {
  const word = "w".repeat(MAX_TOKEN_LENGTH + 1);
  assertEquals(errorsOf(`listen on 127.0.0.1 hostname ${word}\n`), [
    `t.conf:1:30: Word too long: ${word.length} characters, the limit is ${MAX_TOKEN_LENGTH}`,
  ]);
  assertEquals(errorsOf(`action "a" mda "${word}"\nmatch action "a"\n`), [
    `t.conf:1:16: Quoted string too long: ${word.length} characters, the limit is ${MAX_TOKEN_LENGTH}`,
  ]);
});

Deno.test("parseConfig() keeps reading after a refused line, through its continuation", () => {
  const long = "x".repeat(MAX_LINE_LENGTH + 10);
  const errors = errorsOf(`listen on 127.0.0.1 ${long} \\\n  port 25\nlisten on lo0 prot 25\n`);
  assertEquals(errors, [
    `t.conf:1:${MAX_LINE_LENGTH + 1}: Line too long: ${
      long.length + 22
    } characters, the limit is ${MAX_LINE_LENGTH}`,
    't.conf:3:15: Unknown listen option "prot": did you mean "port"?',
  ]);
});

Deno.test("an unknown long keyword is quoted cut short, with its length, and no suggestion", () => {
  const word = "acton" + "x".repeat(2000);
  const [error] = errorsOf(`match from any for any ${word} "x"\n`);
  assertEquals(
    error,
    `t.conf:1:24: Unknown match criterion "${word.slice(0, 60)}…" (${word.length} characters)`,
  );
});

Deno.test("suggest() refuses words longer than any keyword, whatever the candidates", () => {
  const long = "k".repeat(MAX_SUGGEST_LENGTH + 1);
  assertEquals(suggest(long, [long]), undefined);
  assertEquals(suggest("x".repeat(100_000), ["action", "match"]), undefined);
  assertEquals(suggest("acton", ["match", "action"]), "action");
  assertEquals(
    suggest("k".repeat(MAX_SUGGEST_LENGTH), ["k".repeat(MAX_SUGGEST_LENGTH)]),
    "k".repeat(MAX_SUGGEST_LENGTH),
  );
});

Deno.test("formatDiagnostic() shows a window of a long line with the caret under the column", () => {
  const text = `${"a ".repeat(MAX_LINE_LENGTH)}\n`;
  const [d] = parseConfig(text, { file: "t.conf" }).diagnostics;
  assertTrue(d, "the long line is refused");
  const shown = formatDiagnostic(d, text).split("\n");
  assertEquals(shown.length, 3);
  assertTrue(shown[1]!.length <= 200, `the line is cut: ${shown[1]!.length} characters`);
  const caret = shown[2]!.indexOf("^");
  const column = d.position.column;
  assertEquals(shown[1]![caret], text[column - 1], "the caret stands under the column");
  assertStringIncludes(shown[0]!, `t.conf:1:${column}: Line too long`);
});

Deno.test("parseConfig() names the actions of 20,000 distinct legacy rules in one pass", () => {
  const rules = Array.from(
    { length: 20_000 },
    (_, i) => `accept from any for domain "d${i}.test" deliver to mda "/usr/bin/deliver ${i}"`,
  );
  const { config } = parseConfig(rules.join("\n") + "\nlisten on lo0\n", { file: "t.conf" });
  assertTrue(config, "the file is accepted");
  assertEquals(config.actions.length, 20_000);
  assertEquals(config.actions.slice(0, 3).map((a) => a.name), ["mda", "mda-2", "mda-3"]);
  assertEquals(config.matches.at(-1)!.decision, { kind: "action", action: "mda-20000" });
});

Deno.test("parseConfig() refuses a -D macro value holding a line end where it is used", () => {
  const { diagnostics } = parseConfig("listen on $ip\n", {
    file: "t.conf",
    defines: { ip: "127.0.0.1\nmatch from any for any reject" },
  });
  assertEquals(diagnostics.map((d) => `${d.position.line}:${d.position.column}: ${d.message}`), [
    '1:11: Macro "$ip" holds a line end',
  ]);
});

Deno.test("parseConfig() ends on a space other than blank, tab and CR, which starts a word", () => {
  for (const space of ["\f", "\v", "\u00a0", "\u2028"]) {
    const errors = errorsOf(`${space}\n`);
    assertEquals(errors.map((e) => e.split(":").slice(0, 4).join(":")), [
      `t.conf:1:1: Unknown keyword "${space}"`,
    ]);
  }
});
