// Compiles the configuration's matches into one function, once per load: every criterion
// becomes an expression (criterion.ts) in one generated function of if-statements, cheap
// criteria first, so deciding walks no syntax and calls nothing it need not.

import type { Action, Config, Criterion, Match } from "../config/mod.ts";
import { trace } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import type { Table } from "../tables/mod.ts";
import { compileCriterion, type Term } from "./criterion.ts";
import type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
import { type Subject, subjectOf } from "./subject.ts";
import { resolveLocalUser } from "./users.ts";

/** Decides one envelope; first match wins. */
export type Ruleset = (session: SessionFacts, envelope: EnvelopeFacts) => RuleVerdict;

/** Options of {@link compileRuleset}. */
export interface RulesetOptions {
  /** The opened tables, by name. */
  readonly tables: ReadonlyMap<string, Table>;
  /** Names that `for local` accepts besides `localhost` (the server's names). */
  readonly localNames: readonly string[];
  /** Whether a system account exists (getpwnam); without it every user is taken to exist. */
  readonly userExists?: (name: string) => boolean;
}

const REJECTED: RuleVerdict = { kind: "reject", reason: "no rule matched" };

/** Compiles the matches of a configuration into a {@link Ruleset}. */
export function compileRuleset(config: Config, options: RulesetOptions): Ruleset {
  const actions = new Map(config.actions.map((a) => [a.name, a] as const));
  const subAddrDelim = config.smtp.subAddrDelim;
  const localDomains = new Set(["localhost", ...options.localNames].map((n) => n.toLowerCase()));
  const bound: unknown[] = [];
  const bind = (value: unknown) => `b[${bound.push(value) - 1}]`;
  const ctx = { ...options, actions, subAddrDelim, localDomains, bind };
  const compiled = config.matches.map((match) => compileMatch(match, ctx));
  const firstMatch = generateFirstMatch(compiled, bound);
  return (session, envelope) => {
    try {
      const index = firstMatch(subjectOf(session, envelope));
      // OpenSMTPD's TRACE_RULES: which rule (by its place in the file) decided.
      trace("rules", () => {
        const at = config.matches[index]?.position;
        const rule = at ? `matched the rule at ${at.file}:${at.line}` : "matched no rule";
        return `from=<${envelope.mailFrom}> to=<${envelope.rcptTo}>: ${rule}`;
      });
      return index < 0 ? REJECTED : compiled[index]!.decide(envelope);
    } catch (error) {
      // A table that cannot answer (a broken sqlite query, an unreadable db) is a
      // temporary failure for this recipient, never a silent "no match".
      return { kind: "tempfail", reason: errorMessage(error) };
    }
  };
}

// The whole ruleset as one function of if-statements over the facts `x`, so every
// comparison and call site in it sees one shape and one callee.
function generateFirstMatch(
  compiled: readonly CompiledMatch[],
  bound: readonly unknown[],
): (subject: Subject) => number {
  const lines = compiled.map((rule, index) => {
    const test = rule.terms.length === 0 ? "true" : rule.terms.map((t) => t.code).join(" && ");
    return `if (${test}) return ${index};`;
  });
  const body = `return function firstMatch(x) {\n${lines.join("\n")}\nreturn -1;\n};`;
  return new Function("b", body)(bound);
}

interface CompileContext extends RulesetOptions {
  readonly actions: ReadonlyMap<string, Action>;
  readonly subAddrDelim: string;
  readonly localDomains: ReadonlySet<string>;
  bind(value: unknown): string;
}

interface CompiledMatch {
  /** The criteria, cheapest first. */
  readonly terms: readonly Term[];
  decide(envelope: EnvelopeFacts): RuleVerdict;
}

function compileMatch(match: Match, ctx: CompileContext): CompiledMatch {
  // All criteria must hold, so their order is free: the cheapest are tried first.
  const terms = withDefaults(match.criteria)
    .filter((c) => !(c.kind === "from-any" || c.kind === "for-any") || c.negated)
    .map((c) => compileCriterion(c, ctx))
    .sort((a, b) => a.cost - b.cost);
  const decision = match.decision;
  if (decision.kind === "reject") {
    const verdict: RuleVerdict = { kind: "reject", reason: "rejected by rule" };
    return { terms, decide: () => verdict };
  }
  const action = ctx.actions.get(decision.action);
  if (!action) throw new Error(`No action named "${decision.action}"`);
  const resolveUser = resolveLocalUser(action, ctx);
  const filters = match.filters && match.filters.length > 0 ? { filters: match.filters } : {};
  const plain: RuleVerdict = { kind: "accept", action: action.name, ...filters };
  return {
    terms,
    decide: (envelope) => {
      const user = resolveUser(envelope.rcptTo);
      if (user === null) return { kind: "reject", reason: "not a local user" };
      if (typeof user === "object") {
        const reason = `error entry: ${user.error}`;
        return user.error.trimStart().startsWith("4")
          ? { kind: "tempfail", reason, reply: user.error }
          : { kind: "reject", reason, reply: user.error };
      }
      return user === undefined ? plain : { kind: "accept", action: action.name, user, ...filters };
    },
  };
}

// smtpd.conf(5): a match without `from` means `from local`, one without `for` means `for local`.
function withDefaults(criteria: readonly Criterion[]): readonly Criterion[] {
  const hasFrom = criteria.some((c) => c.kind.startsWith("from-"));
  const hasFor = criteria.some((c) => c.kind.startsWith("for-"));
  if (hasFrom && hasFor) return criteria;
  const position = { file: "", line: 0, column: 0 };
  const extra: Criterion[] = [];
  if (!hasFrom) extra.push({ kind: "from-local", negated: false, position });
  if (!hasFor) extra.push({ kind: "for-local", negated: false, position });
  return [...criteria, ...extra];
}
