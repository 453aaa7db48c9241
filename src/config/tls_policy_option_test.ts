// The relay option `tls-policy <table>`: parsed into the model, printed back, and refused
// where it could not work (a list, a level that does not exist, a relay `host`).

import { assertEquals } from "../../test/assert.ts";
import { parseConfig, printConfig } from "./mod.ts";

function errorsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

Deno.test("parseConfig() reads relay tls-policy <table> and prints it back", () => {
  const text = `table policy { "example.org" = "dane-only", ".example.net" = "verify" }
action "out" relay tls-policy <policy> tls
match from any for any action "out"
`;
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  assertEquals(diagnostics, []);
  const method = config!.actions[0]!.method;
  assertEquals(method.kind === "relay" ? method.tlsPolicy?.name : undefined, "policy");
  const printed = printConfig(config!);
  assertEquals(printed.includes('action "out" relay tls tls-policy <policy>'), true, printed);
  assertEquals(parseConfig(printed, { file: "printed.conf" }).diagnostics, []);
});

Deno.test("parseConfig() refuses a tls-policy level that does not exist, a list, and a host", () => {
  assertEquals(
    errorsOf(`table policy { "example.org" = "secure" }
action "out" relay tls-policy <policy>
match from any for any action "out"
`),
    [
      '1:7: tls-policy "secure" for "example.org" is not one of none, may, encrypt, verify, dane, dane-only',
    ],
  );
  assertEquals(
    errorsOf(`action "out" relay tls-policy { "example.org" }
match from any for any action "out"
`),
    ["1:31: This inline table is a list and cannot be used for tls-policy lookups"],
  );
  assertEquals(
    errorsOf(`table policy { "example.org" = "verify" }
action "out" relay host smtp://mx.example.org tls-policy <policy>
`),
    [
      '2:1: "tls-policy" applies to delivery by MX: the TLS of "host" is set by its URL and "tls"',
    ],
  );
});
