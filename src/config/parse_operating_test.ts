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

Deno.test("control socket and group are in the model and printed back", () => {
  const { config } = parseConfig(
    `control socket "/run/smtpd/ctl.sock" group "mailadm"\n${BASE}`,
    { file: "t.conf" },
  );
  assertEquals([config?.control?.socket, config?.control?.group], [
    "/run/smtpd/ctl.sock",
    "mailadm",
  ]);
  const printed = printConfig(config!);
  assertEquals(
    printed.includes('control socket "/run/smtpd/ctl.sock" group "mailadm"\n'),
    true,
    printed,
  );
  const again = parseConfig(printed, { file: "p.conf" }).config!;
  assertEquals([again.control?.socket, again.control?.group], ["/run/smtpd/ctl.sock", "mailadm"]);
  const groupOnly = parseConfig(`control group wheel\n${BASE}`, { file: "t.conf" }).config;
  assertEquals([groupOnly?.control?.socket, groupOnly?.control?.group], [undefined, "wheel"]);
});

Deno.test("a wrong control statement is refused at its line and column", () => {
  const text = [
    "control socket relative.sock",
    "control owner root",
    'control group "a b"',
    "control group wheel group staff",
    "control group wheel",
    "control group staff",
    `${BASE}control group`,
  ].join("\n");
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  assertEquals(config, undefined);
  const first = (d: (typeof diagnostics)[number]) => formatDiagnostic(d, text).split("\n")[0];
  assertEquals(diagnostics.map(first), [
    't.conf:1:16: Bad control socket "relative.sock": an absolute path',
    't.conf:2:9: Unknown control option "owner"',
    't.conf:3:15: Bad control group "a b"',
    "t.conf:4:21: control group is given twice",
    "t.conf:6:1: control is already set (line 5); say it once",
    "t.conf:10:14: Expected a group name, found the end of the file",
  ]);
});
