// `metrics listen on` and `log format`: parsed into the model, printed back, and every
// mistake named by its file:line:column.

import { assertEquals } from "../../test/assert.ts";
import { formatDiagnostic, parseConfig, printConfig } from "./mod.ts";

const BASE = 'listen on 127.0.0.1\naction "l" maildir\nmatch for local action "l"\n';

Deno.test("metrics listen and log format are in the model and printed back", () => {
  const { config } = parseConfig(`metrics listen on ::1 port 9200\nlog format json\n${BASE}`, {
    file: "t.conf",
  });
  assertEquals(config?.metrics?.address, "::1");
  assertEquals(config?.metrics?.port, 9200);
  assertEquals(config?.logFormat, "json");
  const printed = printConfig(config!);
  assertEquals(printed.includes('metrics listen on "::1" port 9200\n'), true, printed);
  assertEquals(printed.includes("log format json\n"), true, printed);
  const again = parseConfig(printed, { file: "p.conf" }).config!;
  assertEquals([again.metrics?.address, again.metrics?.port, again.logFormat], [
    "::1",
    9200,
    "json",
  ]);
  // The port defaults to 9154.
  const plain = parseConfig(`metrics listen on 127.0.0.1\n${BASE}`, { file: "t.conf" });
  assertEquals(plain.config?.metrics?.port, 9154);
});

Deno.test("a wrong metrics or log statement is refused at its line and column", () => {
  const text = [
    "metrics listen on eth0",
    "metrics listen on 127.0.0.1 port 70000",
    "metrics on 127.0.0.1",
    "log format xml",
    "metrics listen on 127.0.0.1",
    "metrics listen on 127.0.0.2",
    BASE,
  ].join("\n");
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  assertEquals(config, undefined);
  const first = (d: (typeof diagnostics)[number]) => formatDiagnostic(d, text).split("\n")[0];
  assertEquals(diagnostics.map(first), [
    't.conf:1:19: Bad metrics address "eth0": an IPv4 or IPv6 address, or localhost',
    't.conf:2:34: Bad port "70000"',
    't.conf:3:9: Expected "listen", found "on"',
    't.conf:4:12: Unknown log format "xml"',
    "t.conf:6:1: metrics listen is already set (line 5); one endpoint serves every metric",
  ]);
});
