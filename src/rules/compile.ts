// Compiles the configuration's matches into one function, once per load: each criterion
// becomes a closure over a prebuilt matcher, so deciding an envelope walks no syntax.

import type { Action, Config, Criterion, CriterionKind, Match } from "../config/mod.ts";
import type { Table, TableService } from "../tables/mod.ts";
import type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
import { type KeyMatcher, regexMatcher, serviceMatcher, splitAddress } from "./matchers.ts";
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

type Test = (session: SessionFacts, envelope: EnvelopeFacts) => boolean;

const REJECTED: RuleVerdict = { kind: "reject", reason: "no rule matched" };

/** Compiles the matches of a configuration into a {@link Ruleset}. */
export function compileRuleset(config: Config, options: RulesetOptions): Ruleset {
  const actions = new Map(config.actions.map((a) => [a.name, a] as const));
  const subAddrDelim = config.smtp.subAddrDelim;
  const localDomains = new Set(["localhost", ...options.localNames].map((n) => n.toLowerCase()));
  const compiled = config.matches.map((match) =>
    compileMatch(match, { ...options, actions, subAddrDelim, localDomains })
  );
  return (session, envelope) => {
    try {
      for (const rule of compiled) {
        if (rule.test(session, envelope)) return rule.decide(envelope);
      }
      return REJECTED;
    } catch (error) {
      // A table that cannot answer (a broken sqlite query, an unreadable db) is a
      // temporary failure for this recipient, never a silent "no match".
      return { kind: "tempfail", reason: error instanceof Error ? error.message : String(error) };
    }
  };
}

interface CompileContext extends RulesetOptions {
  readonly actions: ReadonlyMap<string, Action>;
  readonly subAddrDelim: string;
  readonly localDomains: ReadonlySet<string>;
}

interface CompiledMatch {
  test: Test;
  decide(envelope: EnvelopeFacts): RuleVerdict;
}

function compileMatch(match: Match, ctx: CompileContext): CompiledMatch {
  const tests = withDefaults(match.criteria).map((c) => compileCriterion(c, ctx));
  const test: Test = tests.length === 1 ? tests[0]! : (s, e) => {
    for (const t of tests) if (!t(s, e)) return false;
    return true;
  };
  const decision = match.decision;
  if (decision.kind === "reject") {
    const verdict: RuleVerdict = { kind: "reject", reason: "rejected by rule" };
    return { test, decide: () => verdict };
  }
  const action = ctx.actions.get(decision.action);
  if (!action) throw new Error(`No action named "${decision.action}"`);
  const resolveUser = resolveLocalUser(action, ctx);
  return {
    test,
    decide: (envelope) => {
      const user = resolveUser(envelope.rcptTo);
      if (user === null) return { kind: "reject", reason: "not a local user" };
      return user === undefined
        ? { kind: "accept", action: action.name }
        : { kind: "accept", action: action.name, user };
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

function compileCriterion(c: Criterion, ctx: CompileContext): Test {
  const test = compilePositive(c, ctx);
  return c.negated ? (s, e) => !test(s, e) : test;
}

// The table(5) service each criterion consults its table for.
const CRITERION_SERVICES: Readonly<Partial<Record<CriterionKind, TableService>>> = {
  "from-src": "netaddr",
  "from-rdns": "domain",
  "from-auth": "string",
  "from-mail-from": "mailaddr",
  "for-domain": "domain",
  "for-rcpt-to": "mailaddr",
  "auth": "string",
  "helo": "domain",
  "mail-from": "mailaddr",
  "rcpt-to": "mailaddr",
  "tag": "string",
};

function compilePositive(c: Criterion, ctx: CompileContext): Test {
  const matcher = c.table ? buildMatcher(c, ctx) : undefined;
  switch (c.kind) {
    case "from-any":
    case "for-any":
      return () => true;
    case "from-local":
      return (s) => s.local;
    case "from-socket":
      return (s) => s.socket;
    case "from-src":
      return matcher ? (s) => matcher(s.src) : () => false;
    case "from-rdns":
      return matcher ? (s) => s.rdns !== undefined && matcher(s.rdns) : (s) => s.rdns !== undefined;
    case "from-auth":
    case "auth":
      return matcher
        ? (s) => s.authUser !== undefined && matcher(s.authUser)
        : (s) => s.authUser !== undefined;
    case "from-mail-from":
    case "mail-from":
      return matcher ? (_s, e) => matcher(e.mailFrom) : () => false;
    case "for-local": {
      const local = ctx.localDomains;
      return (_s, e) => local.has(splitAddress(e.rcptTo).domain.toLowerCase());
    }
    case "for-domain":
      return matcher ? (_s, e) => matcher(splitAddress(e.rcptTo).domain) : () => false;
    case "for-rcpt-to":
    case "rcpt-to":
      return matcher ? (_s, e) => matcher(e.rcptTo) : () => false;
    case "helo":
      return matcher ? (s) => s.helo !== undefined && matcher(s.helo) : () => false;
    case "tag": {
      if (matcher) return (s) => s.tag !== undefined && matcher(s.tag);
      const tag = c.value?.toLowerCase();
      return (s) => s.tag !== undefined && s.tag.toLowerCase() === tag;
    }
    case "tls":
      return (s) => s.tls;
  }
}

function buildMatcher(c: Criterion, ctx: CompileContext): KeyMatcher {
  const ref = c.table!;
  const table = ctx.tables.get(ref.name);
  if (!table) throw new Error(`Table "${ref.name}" is not open`);
  if (c.regex) return regexMatcher(table);
  return serviceMatcher(table, CRITERION_SERVICES[c.kind] ?? "string");
}
