import { assertEquals } from "../../test/assert.ts";
import { parseConfig } from "./load.ts";

function diagnosticsOf(text: string, severity: "error" | "warning"): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === severity)
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

const BASE = 'action "a" mbox\n';

Deno.test("parseFilter() reads proc-exec, proc, chains and builtin filters", () => {
  const { config } = parseConfig(
    `table t { bad.test }
proc p "/usr/bin/f -x" user _f group _g
filter "e" proc-exec "/usr/bin/e" user _e
filter "p" proc p
filter "b" phase helo match !helo <t> fcrdns reject "550 5.7.1 no"
filter "c" chain { "e", "p", "b" }
listen on 127.0.0.1 filter "c"
${BASE}match from any filter { "e" } action "a"
`,
    { file: "t.conf" },
  );
  const specs = config!.filters.map((f) => f.spec);
  assertEquals(specs[0], { kind: "proc-exec", command: "/usr/bin/e", user: "_e" });
  assertEquals(specs[1], { kind: "proc", proc: "p" });
  assertEquals(specs[3], { kind: "chain", filters: ["e", "p", "b"] });
  const builtin = specs[2]!;
  assertEquals(builtin.kind === "phase" && builtin.decision, {
    kind: "reject",
    reply: "550 5.7.1 no",
  });
  assertEquals(
    builtin.kind === "phase" && builtin.conditions.map((c) => [c.kind, c.negated, c.table?.name]),
    [["helo", true, "t"], ["fcrdns", false, undefined]],
  );
  assertEquals(config!.matches[0]!.filters, ["e"]);
});

Deno.test("parseFilter() refuses what has no effect here, with line and column", () => {
  assertEquals(diagnosticsOf('filter "f" proc-exec "/bin/f" chroot "/var/empty"\n', "error"), [
    "1:31: chroot is not supported: a Deno process cannot chroot its children; run the filter as its own user instead",
  ]);
  assertEquals(diagnosticsOf('proc p "/bin/f" chroot "/var/empty"\n', "error"), [
    "1:17: chroot is not supported: a Deno process cannot chroot its children; run the filter as its own user instead",
  ]);
  assertEquals(diagnosticsOf('filter "f" phase quit match rdns junk\n', "error"), [
    '1:18: Unknown phase "quit"',
  ]);
  assertEquals(diagnosticsOf('filter "f" phase connect match helo <t> junk\n', "error"), [
    '1:32: "helo" is not known yet at phase connect',
  ]);
  assertEquals(diagnosticsOf('filter "f" phase data match rdns reject "250 fine"\n', "error"), [
    '1:41: Bad reply "250 fine": a 4xx or 5xx code, then the text',
  ]);
  assertEquals(diagnosticsOf('filter "c" chain { "x" }\n', "error"), [
    '1:8: Undefined filter "x" in chain "c"',
  ]);
  assertEquals(
    diagnosticsOf(
      `filter "f" phase connect match rdns junk\n${BASE}match from any filter "f" action "a"\n`,
      "error",
    ),
    ['3:1: Filter "f" works at phase connect, before a rule is chosen: use it on the listener'],
  );
  assertEquals(diagnosticsOf(`${BASE}match from any filter "nope" action "a"\n`, "error"), [
    '2:1: Undefined filter "nope": no filter of that name is declared',
  ]);
});

Deno.test("parseConfig() warns for every statement accepted without effect", () => {
  assertEquals(
    diagnosticsOf(
      "scheduler limit max-inflight 10\nmta limit inet4 task-hiwat 50\nmda limit max-session 5\nlimit mta conn-delay-route 5\n",
      "warning",
    ),
    [
      '1:1: "scheduler" is accepted and has no effect here',
      '2:17: "mta limit task-hiwat" is accepted and has no effect here',
      '3:5: "mda limit" is accepted and has no effect here',
      '4:11: "mta limit conn-delay-route" is accepted and has no effect here',
    ],
  );
});

Deno.test("validateFilters() warns for a filter nothing uses, a proc no filter uses, and a rewrite with nothing to rewrite", () => {
  assertEquals(
    diagnosticsOf(
      `proc idle "/bin/idle"
proc used "/bin/used"
filter "lonely" proc-exec "/bin/f"
filter "p" proc used
filter "w" phase data match rdns rewrite "x"
filter "h" phase helo match rdns rewrite "helo.test"
filter "c" chain { "p", "w" }
listen on 127.0.0.1 filter "c"
listen on 127.0.0.2 filter "h"
`,
      "warning",
    ),
    [
      '1:6: Proc "idle" is declared but no filter uses it: it is not started',
      '3:8: Filter "lonely" is declared but no listener, rule or chain uses it: no mail goes through it',
      '5:8: Filter "w": "rewrite" has no effect at phase data, which has no argument to rewrite',
    ],
  );
});

Deno.test("parseListen() refuses a second filter option rather than drop the first", () => {
  assertEquals(
    diagnosticsOf(
      `filter "a" phase connect match rdns junk\nfilter "b" phase connect match rdns junk\nlisten on 127.0.0.1 filter "a" filter "b"\n`,
      "error",
    ),
    ["3:32: filter already specified"],
  );
});
