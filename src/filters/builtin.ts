// The builtin `filter NAME phase P match CONDITIONS DECISION` filters of smtpd.conf(5):
// conditions on the session (rdns, fcrdns, src, helo, auth, mail-from, rcpt-to, each
// negatable, each against a table or its regex), and the decision taken when all hold.

import { compileRegexTable, type Table, type TableService, testRegexKeys } from "../tables/mod.ts";
import type {
  ChainFilter,
  FilterDecision,
  FilterLink,
  FilterPhase,
  FilterSessionView,
} from "./hook.ts";
import { PROCEED } from "./hook.ts";

/** The phases a builtin filter may name (smtpd.conf(5) FILTERS). */
export const BUILTIN_PHASES: readonly FilterPhase[] = [
  "connect",
  "helo",
  "ehlo",
  "mail-from",
  "rcpt-to",
  "data",
  "commit",
];

/** One `match` condition. */
export interface BuiltinCondition {
  readonly kind: "fcrdns" | "rdns" | "src" | "helo" | "auth" | "mail-from" | "rcpt-to";
  readonly negated: boolean;
  /** The table the value is looked up in; without one, the condition is that it exists. */
  readonly table?: Table;
  /** `regex <t>`: the table's entries are regular expressions. */
  readonly regex: boolean;
}

/** A builtin filter as declared. */
export interface BuiltinFilterSpec {
  readonly name: string;
  readonly phase: FilterPhase;
  readonly conditions: readonly BuiltinCondition[];
  readonly decision: FilterDecision;
}

const SERVICES: Record<BuiltinCondition["kind"], TableService> = {
  fcrdns: "string",
  rdns: "domain",
  src: "netaddr",
  helo: "domain",
  auth: "string",
  "mail-from": "mailaddr",
  "rcpt-to": "mailaddr",
};

/** Builds the chain filter for one builtin declaration. */
export function builtinFilter(spec: BuiltinFilterSpec): ChainFilter {
  const tests = spec.conditions.map(conditionTest);
  return {
    name: spec.name,
    kind: "builtin",
    phases: new Set([spec.phase]),
    reports: new Set(),
    open(session: FilterSessionView): FilterLink {
      return {
        report() {},
        query(phase, params) {
          const holds = tests.every((test) => test(session, phase, params));
          return Promise.resolve(holds ? spec.decision : PROCEED);
        },
        close() {},
      };
    },
  };
}

type Test = (s: FilterSessionView, phase: FilterPhase, params: readonly string[]) => boolean;
type Value = (
  s: FilterSessionView,
  phase: FilterPhase,
  params: readonly string[],
) => string | undefined;

function conditionTest(condition: BuiltinCondition): Test {
  const value = valueOf(condition.kind);
  const { table } = condition;
  let matches: (key: string) => boolean;
  if (condition.kind === "fcrdns") matches = () => true;
  else if (!table) matches = () => true;
  else if (condition.regex) {
    const patterns = compileRegexTable(table);
    matches = (key) => testRegexKeys(patterns, key);
  } else {
    matches = (key) => table.match(SERVICES[condition.kind], key);
  }
  return (session, phase, params) => {
    const key = value(session, phase, params);
    const holds = key !== undefined && matches(key);
    return condition.negated ? !holds : holds;
  };
}

// What a condition looks at. In its own phase the value is the query's parameter (the
// command is not yet run); later, what the session recorded (rcpt-to: the last recipient).
function valueOf(kind: BuiltinCondition["kind"]): Value {
  switch (kind) {
    case "fcrdns":
      return (s) => (s.fcrdns ? "pass" : undefined);
    case "rdns":
      return (s) => s.rdns;
    case "src":
      return (s) => s.src;
    case "helo":
      return (s, phase, p) => (phase === "helo" || phase === "ehlo" ? p[0] : s.helo);
    case "auth":
      return (s) => s.authUser;
    case "mail-from":
      return (s, phase, p) => (phase === "mail-from" ? p[0] : s.mailFrom);
    case "rcpt-to":
      return (s, phase, p) => (phase === "rcpt-to" ? p[0] : s.rcptTo[s.rcptTo.length - 1]);
  }
}
