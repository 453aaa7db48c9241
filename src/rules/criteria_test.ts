// Every criterion in CRITERIA, negated and not, through a compiled ruleset: with no table,
// and with its table inline (one entry and several), as regular expressions, and in a db
// file too large to copy (asked per decision, and a tempfail once it cannot answer).

import { runMakemap } from "../compat/mod.ts";
import { type CriterionKind, parseConfig } from "../config/mod.ts";
import { openTables, type Table } from "../tables/mod.ts";
import { assertEquals } from "../../test/assert.ts";
import {
  BASE_ENVELOPE,
  BASE_SESSION,
  CRITERION_CASES,
  type CriterionCase,
  LOCAL_NAMES,
  type Probe,
} from "./_criterion_cases.ts";
import { compileRuleset, type Ruleset } from "./compile.ts";
import { CRITERIA } from "./criteria.ts";
import type { RuleVerdict } from "./facts.ts";
import { SNAPSHOT_LIMIT } from "./matchers.ts";

type Outcome = "match" | "no-match" | "tempfail";
type TableForm = "single" | "list" | "regex" | "db";
const TABLE_FORMS: readonly TableForm[] = ["single", "list", "regex", "db"];

function outcomeOf(v: RuleVerdict): Outcome | string {
  if (v.kind === "accept") return "match";
  if (v.kind === "tempfail") return "tempfail";
  return v.reason === "no rule matched" ? "no-match" : `reject: ${v.reason}`;
}

// `from …` criteria stand in for `from any`, `for …` ones for `for any`, others are added.
function matchLine(kind: CriterionKind, criterion: string): string {
  if (kind.startsWith("from-")) return `match ${criterion} for any action "a"`;
  if (kind.startsWith("for-")) return `match from any ${criterion} action "a"`;
  return `match from any for any ${criterion} action "a"`;
}

// Writes the table of a case in one form; returns its declaration.
async function declareTable(dir: string, c: CriterionCase, form: TableForm): Promise<string> {
  const entries = c.entries!;
  const quoted = (list: readonly string[]) => list.map((e) => JSON.stringify(e)).join(", ");
  switch (form) {
    case "single":
      return `table t { ${quoted(entries.slice(0, 1))} }`;
    case "list":
      return `table t { ${quoted(entries)} }`;
    case "regex":
      await Deno.writeTextFile(`${dir}/t.regex`, `${c.regex!}\n`);
      return `table t file:${dir}/t.regex`;
    case "db": {
      const padding = Array.from({ length: SNAPSHOT_LIMIT + 1 }, (_, i) => `pad${i}.invalid`);
      await Deno.writeTextFile(`${dir}/t`, [...entries, ...padding].join("\n") + "\n");
      const code = await runMakemap([`${dir}/t`], { stderr: () => {} });
      if (code !== 0) throw new Error(`makemap: exit ${code}`);
      return `table t db:${dir}/t.db`;
    }
  }
}

interface Compiled {
  readonly decide: Ruleset;
  readonly tables: ReadonlyMap<string, Table>;
}

async function compileCase(
  kind: CriterionKind,
  text: string,
  negated: boolean,
): Promise<Compiled> {
  const { config, diagnostics } = parseConfig(text, { file: "criteria.conf" });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const criteria = config.matches[0]!.criteria;
  // The case must be written as the criterion it claims to test.
  assertEquals(
    criteria.filter((c) => c.kind === kind).map((c) => c.negated),
    [negated],
    `${kind} in: ${text}`,
  );
  const tables = await openTables(config, { baseDir: "/" });
  return { decide: compileRuleset(config, { tables, localNames: LOCAL_NAMES }), tables };
}

function decideProbe(decide: Ruleset, probe: Probe): Outcome | string {
  return outcomeOf(decide({ ...BASE_SESSION, ...probe.session }, {
    ...BASE_ENVELOPE,
    ...probe.envelope,
  }));
}

function expectProbes(
  decide: Ruleset,
  probes: readonly Probe[],
  expected: Outcome,
  label: string,
): void {
  for (const probe of probes) {
    assertEquals(decideProbe(decide, probe), expected, `${label}: ${JSON.stringify(probe)}`);
  }
}

const FLIPPED: Record<Outcome, Outcome> = {
  "match": "no-match",
  "no-match": "match",
  "tempfail": "tempfail",
};

Deno.test("CRITERIA: every criterion kind has test cases, with a table when it takes one", () => {
  for (const [kind, definition] of Object.entries(CRITERIA)) {
    const cases = CRITERION_CASES[kind as CriterionKind] ?? [];
    assertEquals(cases.length > 0, true, `${kind} has no test case`);
    const withTable = cases.filter((c) => c.entries !== undefined);
    assertEquals(withTable.length > 0, definition.service !== undefined, `${kind}: table cases`);
    const bare = cases.some((c) => c.entries === undefined);
    assertEquals(bare, definition.withoutTable !== "never", `${kind}: cases without a table`);
    for (const c of cases) {
      assertEquals(c.fails.length === 0, definition.withoutTable === "always", `${c.written}`);
      if (c.entries) assertEquals(c.regex !== undefined, true, `${c.written} has no regex`);
      if (c.entries) assertEquals(c.listHolds !== undefined, true, `${c.written}: listHolds`);
      const neither = (c.neither ?? []).length > 0;
      assertEquals(
        neither,
        c.entries !== undefined && definition.tableNeedsFact === true,
        c.written,
      );
    }
  }
  assertEquals(Object.keys(CRITERION_CASES).sort(), Object.keys(CRITERIA).sort());
});

for (const [kind, cases] of Object.entries(CRITERION_CASES) as [CriterionKind, CriterionCase[]][]) {
  Deno.test(`compileRuleset() decides "${kind}" as CRITERIA defines it, negated and not`, async () => {
    const dir = await Deno.makeTempDir({ prefix: `criterion-${kind}-` });
    try {
      for (const c of cases) {
        const forms = c.entries ? TABLE_FORMS : [undefined];
        for (const form of forms) {
          for (const negated of [false, true]) {
            const table = form ? await declareTable(dir, c, form) : "";
            const written = (negated ? "! " : "") +
              c.written.replace("<t>", form === "regex" ? "regex <t>" : "<t>");
            const text = `${table}\naction "a" relay\n${matchLine(kind, written)}\n`;
            const label = `${written}${form ? ` (${form} table)` : ""}`;
            const { decide, tables } = await compileCase(kind, text, negated);
            try {
              const holds: Outcome = negated ? "no-match" : "match";
              expectProbes(decide, c.holds, holds, label);
              if (form === "list" || form === "db") {
                expectProbes(decide, c.listHolds ?? [], holds, label);
              }
              expectProbes(decide, c.fails, FLIPPED[holds], label);
              expectProbes(decide, c.neither ?? [], "no-match", label);
              if (form === "db") {
                // The table is asked per decision: once it cannot answer, every probe whose
                // fact is present is a tempfail, whichever way the criterion is negated.
                for (const table of tables.values()) table.close?.();
                expectProbes(decide, c.holds, "tempfail", `${label}, table closed`);
              }
            } finally {
              for (const table of tables.values()) table.close?.();
            }
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("compileRuleset() makes a table failing in any rule tried a tempfail, though a later rule matches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "criterion-tempfail-" });
  try {
    const big = await declareTable(dir, CRITERION_CASES.helo[0]!, "db");
    const text = `${big}
action "a" relay
match from any for rcpt-to "first@dest.test" action "a"
match from any helo <t> for any reject
match from any for any action "a"
`;
    const { config } = parseConfig(text, { file: "tempfail.conf" });
    const tables = await openTables(config!, { baseDir: "/" });
    const decide = compileRuleset(config!, { tables, localNames: LOCAL_NAMES });
    const helo = { session: { helo: "c.test" } };
    assertEquals(decideProbe(decide, helo), "match");
    for (const table of tables.values()) table.close?.();
    assertEquals(decideProbe(decide, helo), "tempfail");
    // First match wins before the broken table is asked.
    assertEquals(
      decideProbe(decide, { ...helo, envelope: { rcptTo: "first@dest.test" } }),
      "match",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
