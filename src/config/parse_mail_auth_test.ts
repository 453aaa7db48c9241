import { assertEquals } from "../../test/assert.ts";
import { parseConfig } from "./load.ts";
import { printConfig } from "./print.ts";

function errorsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

Deno.test("parseMailAuthSpec() reads dkim-sign and auth-verify filters and prints them back", () => {
  const text = `filter "sign" dkim-sign selector s1 domain example.org key "/etc/mail/dkim/s1.key"
filter "check" auth-verify reject-dmarc on-temperror tempfail
filter "plain" auth-verify
listen on 127.0.0.1 filter { "check", "sign" }
listen on 127.0.0.2 filter "plain"
action "a" mbox
match from any for any action "a"
`;
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  assertEquals(diagnostics, []);
  assertEquals(config!.filters.map((f) => f.spec), [
    { kind: "dkim-sign", domain: "example.org", selector: "s1", key: "/etc/mail/dkim/s1.key" },
    { kind: "auth-verify", rejectDmarc: true, onTemperror: "tempfail" },
    { kind: "auth-verify", rejectDmarc: false, onTemperror: "accept" },
  ]);
  const printed = printConfig(config!);
  for (
    const line of [
      'filter "sign" dkim-sign domain example.org selector s1 key "/etc/mail/dkim/s1.key"',
      'filter "check" auth-verify reject-dmarc on-temperror tempfail',
      'filter "plain" auth-verify\n',
    ]
  ) assertEquals(printed.includes(line), true, `${line} in:\n${printed}`);
  const again = parseConfig(printed, { file: "t.conf" });
  assertEquals(again.config!.filters.map((f) => f.spec), config!.filters.map((f) => f.spec));
});

Deno.test("parseMailAuthSpec() names the line and column of what is missing or wrong", () => {
  assertEquals(errorsOf('filter "s" dkim-sign domain example.org selector s1\n'), [
    "1:22: dkim-sign needs key",
  ]);
  assertEquals(errorsOf('filter "s" dkim-sign domain example..org selector s1 key "k"\n'), [
    '1:29: Bad domain "example..org"',
  ]);
  assertEquals(errorsOf('filter "s" dkim-sign domain a.test domain b.test\n'), [
    '1:36: "domain" is given twice',
  ]);
  assertEquals(errorsOf('filter "s" dkim-sign domain a.test algorithm rsa\n'), [
    '1:36: Unknown keyword "algorithm"',
  ]);
  assertEquals(errorsOf('filter "v" auth-verify on-temperror maybe\n'), [
    '1:37: Unknown keyword "maybe"',
  ]);
  assertEquals(errorsOf('filter "v" auth-verify reject-spf\n'), [
    '1:24: Unknown keyword "reject-spf"',
  ]);
});
