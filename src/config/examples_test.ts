// Every shipped example parses, prints back as modern smtpd.conf, and printing is stable.

import { assertEquals } from "../../test/assert.ts";
import { parseConfig, printConfig } from "./mod.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

function load(name: string) {
  const file = `${EXAMPLES}${name}`;
  const { config, diagnostics } = parseConfig(Deno.readTextFileSync(file), {
    file,
    readFile: (path) => Deno.readTextFileSync(path),
  });
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!config) throw new Error(`${name}: ${errors.map((d) => d.message).join("; ")}`);
  return { config, diagnostics };
}

Deno.test("every examples/*.conf parses without errors and prints stably", () => {
  const names = [...Deno.readDirSync(EXAMPLES)].filter((e) => e.name.endsWith(".conf"))
    .map((e) => e.name).sort();
  assertEquals(names.length >= 6, true, names.join(", "));
  for (const name of names) {
    const printed = printConfig(load(name).config);
    const again = parseConfig(printed, { file: `${name} (printed)` });
    if (!again.config) throw new Error(`${name} printed unparsable:\n${printed}`);
    assertEquals(printConfig(again.config), printed, name);
  }
});

Deno.test("the seed's first configuration means what smtpd.conf(5) says", () => {
  assertEquals(
    printConfig(load("seed-first.conf").config),
    `table aliases db:seed/aliases.db

listen on lo0 port 25

action "mbox" mbox alias <aliases>
action "relay" relay

match from local for local action "mbox"
match from auth for local action "mbox"
match from local for any action "relay"
match from auth for any action "relay"
`,
  );
});

Deno.test("the seed's complex configuration converts to the modern grammar", () => {
  const printed = printConfig(load("seed-complex.conf").config);
  const rules = printed.slice(printed.indexOf('action "mda"'));
  assertEquals(
    rules,
    `action "mda" mda "/usr/local/bin/prism-mda.py %{user.username}" alias <aliases> userbase <userinfo>
action "relay" relay helo-src <names> src <sources>
action "relay-2" relay host "smtp+notls://127.0.0.1:10027"

match from any for domain "prism.mx" action "mda"
match from local tag "DKIM" for any action "relay"
match from auth tag "DKIM" for any action "relay"
match from local for any action "relay-2"
match from auth for any action "relay-2"
`,
  );
});

Deno.test("the seed's rule-order example rejects before it relays", () => {
  const { config } = load("seed-order.conf");
  // Each rule is a `from local` and a `from auth` match (OpenSMTPD 6.0's authenticated
  // sessions are local).
  assertEquals(config.matches.map((m) => m.decision.kind), [
    "reject",
    "reject",
    "action",
    "action",
  ]);
});
