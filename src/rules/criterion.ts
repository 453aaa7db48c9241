// Turns one criterion into a JavaScript expression over the decision's facts `x`, following
// its entry in CRITERIA: the only place a criterion's meaning is written out. Values enter
// the code through JSON.stringify; matchers and sets through `bind`, never as text.

import type { Criterion } from "../config/mod.ts";
import type { Table, TableService } from "../tables/mod.ts";
import { CRITERIA, type CriterionDefinition } from "./criteria.ts";
import {
  type KeyMatcher,
  mailaddrPartsMatcher,
  regexMatcher,
  snapshotMatcher,
} from "./matchers.ts";
import { type Fact, OPTIONAL_FACTS } from "./subject.ts";

/** What compiling a criterion needs. */
export interface CriterionContext {
  readonly tables: ReadonlyMap<string, Table>;
  /** Lower-cased names `for local` accepts. */
  readonly localDomains: ReadonlySet<string>;
  /** Makes a value reachable from the generated code; returns the expression naming it. */
  bind(value: unknown): string;
}

/**
 * One compiled criterion. Cost orders a rule's criteria: 0 a fact of the session, 1 a set
 * lookup, 2 an address match in memory, 3 a lookup in a table backend.
 */
export interface Term {
  /** A boolean expression over `x`; a table that cannot answer throws from it. */
  readonly code: string;
  readonly cost: number;
}

/** Compiles one criterion, negation included. */
export function compileCriterion(c: Criterion, ctx: CriterionContext): Term {
  const definition = CRITERIA[c.kind];
  const term = c.table ? withTable(c, definition, ctx) : withoutTable(c, definition, ctx);
  if (!c.negated) return term;
  const negated = `!(${term.code})`;
  if (c.table && definition.tableNeedsFact) {
    // The fact must be known before the negation: `! from rdns <t>` fails without rDNS.
    return { code: `x.${definition.reads} !== undefined && ${negated}`, cost: term.cost };
  }
  return { code: negated, cost: term.cost };
}

function withoutTable(c: Criterion, d: CriterionDefinition, ctx: CriterionContext): Term {
  const fact = `x.${d.reads}`;
  switch (d.withoutTable) {
    case "always":
      return { code: "true", cost: 0 };
    case "never":
      return { code: "false", cost: 0 };
    case "flag":
      return { code: fact, cost: 0 };
    case "present":
      return { code: `${fact} !== undefined`, cost: 0 };
    case "literal":
      return { code: `${fact} === ${JSON.stringify(c.value?.toLowerCase() ?? "")}`, cost: 0 };
    case "local-domain":
      return { code: `${ctx.bind(ctx.localDomains)}.has(${fact})`, cost: 1 };
  }
}

function withTable(c: Criterion, d: CriterionDefinition, ctx: CriterionContext): Term {
  const name = c.table!.name;
  const table = ctx.tables.get(name);
  if (!table) throw new Error(`Table "${name}" is not open`);
  const asKey = lookupTerm(c, table, {
    service: d.service ?? "string",
    fact: d.reads,
    parts: d.parts,
  }, ctx);
  if (!d.asAddress || c.regex) return asKey;
  // OpenSMTPD's ruleset_match_smtp_auth: a user name with an `@` is looked up as an address.
  const asAddress = lookupTerm(
    c,
    table,
    { service: "mailaddr", fact: d.reads, parts: d.asAddress },
    ctx,
  );
  return {
    code: `(x.${d.reads}?.includes("@") ? ${asAddress.code} : ${asKey.code})`,
    cost: Math.max(asKey.cost, asAddress.cost),
  };
}

/** How one table lookup reads the decision's facts. */
interface Lookup {
  readonly service: TableService;
  readonly fact: Fact;
  /** For `mailaddr` tables copied in memory: the fact split into address parts. */
  readonly parts: Fact | undefined;
}

function lookupTerm(c: Criterion, table: Table, lookup: Lookup, ctx: CriterionContext): Term {
  const { service } = lookup;
  const fact = `x.${lookup.fact}`;
  // A fact that may be missing matches no table.
  const known = (call: string) =>
    OPTIONAL_FACTS.has(lookup.fact) ? `(${fact} !== undefined && ${call})` : call;
  const call = (matcher: KeyMatcher, cost: number): Term => ({
    code: known(`${ctx.bind(matcher)}(${fact})`),
    cost,
  });
  if (c.regex) return call(regexMatcher(table), 3);
  if (service === "mailaddr") {
    // Address tables copied in memory take the parts split once per decision.
    const parts = lookup.parts && mailaddrPartsMatcher(table);
    if (parts) return { code: known(`${ctx.bind(parts)}(x.${lookup.parts})`), cost: 2 };
  }
  const snapshot = snapshotMatcher(table, service);
  if (!snapshot) {
    // Table backends are asked with the fact as the subject holds it.
    return call((key) => table.match(service, key), 3);
  }
  const only = singleKey(table);
  return only === undefined
    ? call(snapshot, 1)
    : { code: `${fact} === ${JSON.stringify(only)}`, cost: 1 };
}

// The one lower-cased key of a copied table without wildcards, compared inline.
function singleKey(table: Table): string | undefined {
  const keys: string[] = [];
  try {
    for (const key of table.keys()) {
      keys.push(key.toLowerCase());
      if (keys.length > 1) return undefined;
    }
  } catch {
    return undefined;
  }
  const only = keys[0];
  return only !== undefined && !only.includes("*") ? only : undefined;
}
