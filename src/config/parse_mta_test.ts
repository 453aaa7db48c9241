// `mta limit`, `limit mta`, `mta rate` and `queue retry` into the model, back out through
// the printer, and every wrong word refused at its line and column.

import { assertEquals } from "../../test/assert.ts";
import { limitsFor, parseConfig, printConfig } from "./mod.ts";

function parsed(text: string) {
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  return {
    config: config!,
    errors: diagnostics.filter((d) => d.severity === "error")
      .map((d) => `${d.position.file}:${d.position.line}:${d.position.column}: ${d.message}`),
    warnings: diagnostics.filter((d) => d.severity === "warning")
      .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`),
  };
}

Deno.test("parseConfig() reads mta limit keys for the default and per domain, legacy spelling too", () => {
  const { config, errors, warnings } = parsed(
    `mta limit max-conn-per-host 4 max-conn-per-domain 30 session-mail-max 50
mta limit for domain "Big.Test" inet4 max-conn-per-host 2 session-keepalive 7
limit mta for domain small.test max-conn-per-route 1 conn-delay-domain 3
`,
  );
  assertEquals(errors, []);
  assertEquals(warnings, []);
  assertEquals(limitsFor(config.mtaLimits, "other.test"), {
    maxConn: { host: 4, domain: 30 },
    sessionMailMax: 50,
  });
  assertEquals(limitsFor(config.mtaLimits, "big.test."), {
    maxConn: { host: 2, domain: 30 },
    sessionMailMax: 50,
    family: "inet4",
    sessionKeepalive: 7,
  });
  assertEquals(limitsFor(config.mtaLimits, "SMALL.test"), {
    maxConn: { host: 4, domain: 30, route: 1 },
    sessionMailMax: 50,
    connDelay: 3,
  });
});

Deno.test("parseConfig() reads mta rate windows in words and durations", () => {
  const { config, errors } = parsed(
    `mta rate 600 mails per minute, 30 connections per minute
mta rate for domain gmail.test 60 mails per hour
mta rate for domain fast.test 5 mails per 2s 2 connections per 10s
`,
  );
  assertEquals(errors, []);
  assertEquals(limitsFor(config.mtaLimits, "x.test"), {
    mailRate: { count: 600, seconds: 60 },
    connRate: { count: 30, seconds: 60 },
  });
  assertEquals(limitsFor(config.mtaLimits, "gmail.test").mailRate, { count: 60, seconds: 3600 });
  assertEquals(limitsFor(config.mtaLimits, "fast.test"), {
    mailRate: { count: 5, seconds: 2 },
    connRate: { count: 2, seconds: 10 },
  });
});

Deno.test("printConfig() writes mta limits, rates and queue retry back as they parse", () => {
  const text = `queue retry mta 2s mda 1s
mta limit inet6 max-conn-per-host 3 session-mail-max 9
mta limit for domain "a.test" max-conn-per-domain 2
mta rate for domain "a.test" 5 mails per 2s, 1 connections per 1m
`;
  const first = parsed(text);
  assertEquals(first.errors, []);
  assertEquals(first.config.queue.retry, { mta: 2, mda: 1 });
  const printed = printConfig(first.config);
  const again = parsed(printed);
  assertEquals(again.errors, []);
  assertEquals(again.config.mtaLimits, first.config.mtaLimits);
  assertEquals(again.config.queue.retry, { mta: 2, mda: 1 });
});

Deno.test("parseConfig() refuses wrong mta limit, mta rate and queue retry words where they stand", () => {
  const cases: [string, string][] = [
    [
      "mta limit max-conn-per-hots 3\n",
      't.conf:1:11: Unknown mta limit "max-conn-per-hots": did you mean "max-conn-per-host"?',
    ],
    ["mta limit\n", "t.conf:1:10: Expected inet4, inet6 or a limit, found the end of the line"],
    ["mta limit max-conn-per-host x\n", 't.conf:1:29: Bad number "x"'],
    [
      "mta rate 10 mails per fortnight\n",
      't.conf:1:23: Bad rate window "fortnight": second, minute, hour, day or a duration such as 10s',
    ],
    [
      "mta rate 10 letters per minute\n",
      't.conf:1:13: Unknown rate "letters"',
    ],
    [
      "mta rate for domain a.test 10 mails\n",
      't.conf:1:36: Expected "per", found the end of the line',
    ],
    ["queue retry mtx 10s\n", 't.conf:1:13: Unknown agent "mtx": did you mean "mta"?'],
    ["limit mtb inet4\n", 't.conf:1:7: Unknown limit "mtb": did you mean "mta"?'],
    [
      "queue retry mta soon\n",
      't.conf:1:17: Bad duration "soon": expected a number with s, m, h or d',
    ],
  ];
  for (const [text, error] of cases) assertEquals(parsed(text).errors, [error], text);
});

Deno.test("parseConfig() warns for each mta limit key and mta max-deferred, which have no effect", () => {
  const { warnings, errors } = parsed(
    "mta limit max-conn-per-host 2 task-lowat 3\nlimit mta for domain a.test reconn-delay-route 5\nmta max-deferred 20\nmax-mta-deferred 5\n",
  );
  assertEquals(errors, []);
  assertEquals(warnings, [
    '1:31: "mta limit task-lowat" is accepted and has no effect here',
    '2:29: "mta limit reconn-delay-route" is accepted and has no effect here',
    '3:5: "mta max-deferred" is accepted and has no effect here',
    '4:1: "mta max-deferred" is accepted and has no effect here',
  ]);
});
