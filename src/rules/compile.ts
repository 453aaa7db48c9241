// Compiles the configuration's matches into one function, once per load: each criterion
// becomes a closure over a prebuilt matcher, cheap criteria first, and the envelope's
// lower-cased parts are computed once per decision, so deciding walks no syntax.

import type { Action, Config, Criterion, CriterionKind, Match } from "../config/mod.ts";
import type { Table, TableService } from "../tables/mod.ts";
import type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
import {
  type AddressParts,
  addressParts,
  type KeyMatcher,
  mailaddrPartsMatcher,
  regexMatcher,
  snapshotMatcher,
} from "./matchers.ts";
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

/** What the criteria read, lower-cased once per decision. */
interface Subject {
  readonly mailFrom: string;
  readonly rcptTo: string;
  readonly from: AddressParts;
  readonly rcpt: AddressParts;
  readonly rcptDomain: string;
  readonly helo: string | undefined;
  readonly authUser: string | undefined;
  readonly rdns: string | undefined;
  readonly tag: string | undefined;
}

type Test = (session: SessionFacts, subject: Subject) => boolean;

const REJECTED: RuleVerdict = { kind: "reject", reason: "no rule matched" };

/** The table(5) service each criterion consults its table for. */
export const CRITERION_SERVICES: Readonly<Partial<Record<CriterionKind, TableService>>> = {
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

/** Compiles the matches of a configuration into a {@link Ruleset}. */
export function compileRuleset(config: Config, options: RulesetOptions): Ruleset {
  const actions = new Map(config.actions.map((a) => [a.name, a] as const));
  const subAddrDelim = config.smtp.subAddrDelim;
  const localDomains = new Set(["localhost", ...options.localNames].map((n) => n.toLowerCase()));
  const ctx = { ...options, actions, subAddrDelim, localDomains };
  const compiled = config.matches.map((match) => compileMatch(match, ctx));
  const firstMatch = generateFirstMatch(compiled, localDomains);
  return (session, envelope) => {
    const rcptTo = envelope.rcptTo.toLowerCase();
    const at = rcptTo.lastIndexOf("@");
    const mailFrom = envelope.mailFrom.toLowerCase();
    const subject: Subject = {
      mailFrom,
      rcptTo,
      from: addressParts(mailFrom),
      rcpt: addressParts(rcptTo),
      rcptDomain: at === -1 ? "" : rcptTo.slice(at + 1),
      helo: session.helo?.toLowerCase(),
      authUser: session.authUser?.toLowerCase(),
      rdns: session.rdns?.toLowerCase(),
      tag: session.tag?.toLowerCase(),
    };
    try {
      const index = firstMatch(session, subject);
      return index < 0 ? REJECTED : compiled[index]!.decide(envelope);
    } catch (error) {
      // A table that cannot answer (a broken sqlite query, an unreadable db) is a
      // temporary failure for this recipient, never a silent "no match".
      return { kind: "tempfail", reason: error instanceof Error ? error.message : String(error) };
    }
  };
}

// The whole ruleset as one generated function of if-statements: flags and single values
// are compared inline, table lookups call their prebuilt closures. Values enter the code
// only through JSON.stringify.
function generateFirstMatch(
  compiled: readonly CompiledMatch[],
  localDomains: ReadonlySet<string>,
): (session: SessionFacts, subject: Subject) => number {
  const closures: Test[] = [];
  const lines = compiled.map((rule, index) => {
    const terms = rule.terms.map((term) => {
      if (term.code !== undefined) return term.code;
      closures.push(term.test);
      return `t[${closures.length - 1}](s, x)`;
    });
    return `if (${terms.length === 0 ? "true" : terms.join(" && ")}) return ${index};`;
  });
  const body = `return function firstMatch(s, x) {\n${lines.join("\n")}\nreturn -1;\n};`;
  return new Function("t", "local", body)(closures, localDomains);
}

interface CompileContext extends RulesetOptions {
  readonly actions: ReadonlyMap<string, Action>;
  readonly subAddrDelim: string;
  readonly localDomains: ReadonlySet<string>;
}

interface CompiledMatch {
  /** The criteria, cheapest first: inline code where possible, else a closure. */
  terms: Term[];
  decide(envelope: EnvelopeFacts): RuleVerdict;
}

/** One criterion, compiled: a JavaScript expression over `s`, `x`, `local`, or a test. */
interface Term {
  readonly code?: string;
  readonly test: Test;
}

function compileMatch(match: Match, ctx: CompileContext): CompiledMatch {
  // All criteria must hold, so their order is free: the cheapest are tried first.
  const terms = withDefaults(match.criteria)
    .filter((c) => !(c.kind === "from-any" || c.kind === "for-any") || c.negated)
    .map((c) => ({ term: compileTerm(c, ctx), cost: costOf(c, ctx) }))
    .sort((a, b) => a.cost - b.cost)
    .map((t) => t.term);
  const decision = match.decision;
  if (decision.kind === "reject") {
    const verdict: RuleVerdict = { kind: "reject", reason: "rejected by rule" };
    return { terms, decide: () => verdict };
  }
  const action = ctx.actions.get(decision.action);
  if (!action) throw new Error(`No action named "${decision.action}"`);
  const resolveUser = resolveLocalUser(action, ctx);
  const plain: RuleVerdict = { kind: "accept", action: action.name };
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
      return user === undefined ? plain : { kind: "accept", action: action.name, user };
    },
  };
}

function compileTerm(c: Criterion, ctx: CompileContext): Term {
  const test = compileCriterion(c, ctx);
  const code = inlineCode(c, ctx);
  if (code === undefined) return { test };
  return { code: c.negated ? `!(${code})` : code, test };
}

// Criteria simple enough to be written into the generated function.
function inlineCode(c: Criterion, ctx: CompileContext): string | undefined {
  const single = (field: string) => {
    const only = singleValue(c, ctx);
    return only === undefined ? undefined : `x.${field} === ${JSON.stringify(only)}`;
  };
  switch (c.kind) {
    case "from-any":
    case "for-any":
      return "true";
    case "from-local":
      return "s.local";
    case "from-socket":
      return "s.socket";
    case "tls":
      return "s.tls";
    case "for-local":
      return "local.has(x.rcptDomain)";
    case "tag":
      return c.table ? undefined : `x.tag === ${JSON.stringify(c.value?.toLowerCase() ?? "")}`;
    case "auth":
    case "from-auth":
      return c.table ? single("authUser") : "s.authUser !== undefined";
    case "from-rdns":
      return c.table ? single("rdns") : "s.rdns !== undefined";
    case "for-domain":
      return single("rcptDomain");
    case "helo":
      return single("helo");
    default:
      return undefined;
  }
}

// The one lower-cased key of an inline single-entry table without wildcards.
function singleValue(c: Criterion, ctx: CompileContext): string | undefined {
  if (!c.table || c.regex) return undefined;
  const decl = ctx.tables.get(c.table.name);
  if (!decl) return undefined;
  const keys: string[] = [];
  try {
    for (const key of decl.keys()) {
      keys.push(key.toLowerCase());
      if (keys.length > 1) return undefined;
    }
  } catch {
    return undefined;
  }
  const only = keys[0];
  return only !== undefined && !only.startsWith("*") ? only : undefined;
}

// 0: a flag of the session; 1: a set lookup; 2: an address match in memory; 3: a lookup
// in a table backend.
function costOf(c: Criterion, ctx: CompileContext): number {
  if (!c.table) return c.kind === "for-local" ? 1 : 0;
  const table = ctx.tables.get(c.table.name);
  const service = CRITERION_SERVICES[c.kind] ?? "string";
  if (!table || c.regex) return 3;
  if (service === "mailaddr") return mailaddrPartsMatcher(table) ? 2 : 3;
  return snapshotMatcher(table, service) ? 1 : 3;
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
  return c.negated ? (s, x) => !test(s, x) : test;
}

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
      return matcher
        ? (_s, x) => x.rdns !== undefined && matcher(x.rdns)
        : (s) => s.rdns !== undefined;
    case "from-auth":
    case "auth":
      return matcher
        ? (_s, x) => x.authUser !== undefined && matcher(x.authUser)
        : (s) => s.authUser !== undefined;
    case "from-mail-from":
    case "mail-from": {
      const parts = addressMatcher(c, ctx);
      if (parts) return (_s, x) => parts(x.from);
      return matcher ? (_s, x) => matcher(x.mailFrom) : () => false;
    }
    case "for-local": {
      const local = ctx.localDomains;
      return (_s, x) => local.has(x.rcptDomain);
    }
    case "for-domain":
      return matcher ? (_s, x) => matcher(x.rcptDomain) : () => false;
    case "for-rcpt-to":
    case "rcpt-to": {
      const parts = addressMatcher(c, ctx);
      if (parts) return (_s, x) => parts(x.rcpt);
      return matcher ? (_s, x) => matcher(x.rcptTo) : () => false;
    }
    case "helo":
      return matcher ? (_s, x) => x.helo !== undefined && matcher(x.helo) : () => false;
    case "tag": {
      if (matcher) return (_s, x) => x.tag !== undefined && matcher(x.tag);
      const tag = c.value?.toLowerCase();
      return (_s, x) => x.tag === tag;
    }
    case "tls":
      // OpenSMTPD 6.8 answers tempfail here ("not until TLS flag is added"); we know it.
      return (s) => s.tls;
  }
}

// Address tables copied in memory take the parts computed once per decision.
function addressMatcher(
  c: Criterion,
  ctx: CompileContext,
): ((parts: AddressParts) => boolean) | undefined {
  const table = c.table && !c.regex ? ctx.tables.get(c.table.name) : undefined;
  return table ? mailaddrPartsMatcher(table) : undefined;
}

function buildMatcher(c: Criterion, ctx: CompileContext): KeyMatcher {
  const ref = c.table!;
  const table = ctx.tables.get(ref.name);
  if (!table) throw new Error(`Table "${ref.name}" is not open`);
  if (c.regex) return regexMatcher(table);
  const service = CRITERION_SERVICES[c.kind] ?? "string";
  // Table backends are given the key as written; snapshots take it lower-cased.
  return snapshotMatcher(table, service) ?? ((key) => table.match(service, key));
}
