// `match [criteria] action "NAME" | reject`: criteria, each negatable with `!`.

import type { Token } from "./lexer.ts";
import { type ConfigBuilder, parseTableArgument, startsTable } from "./builder.ts";
import type { Criterion, CriterionKind, TableRef } from "./model.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseNames } from "./parse_listen.ts";

const MATCH_WORDS = [
  "from",
  "for",
  "auth",
  "helo",
  "mail-from",
  "rcpt-to",
  "tag",
  "tls",
  "filter",
  "action",
  "reject",
];
const FROM_WORDS = ["any", "local", "socket", "src", "rdns", "auth", "mail-from"];
const FOR_WORDS = ["any", "local", "domain", "rcpt-to"];

/** Parses the statement after `match`. */
export function parseMatch(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  const criteria: Criterion[] = [];
  let filters: string[] | undefined;
  const withFilters = () => (filters ? { filters } : {});
  while (true) {
    const token = stream.peek();
    if (token.kind === "newline" || token.kind === "eof") {
      throw new StatementError(
        'Expected "action NAME" or "reject" to end the match',
        token.position,
      );
    }
    const negated = stream.peek().kind === "!";
    if (negated) stream.next();
    const word = stream.expectWord("a match criterion");
    if (!negated && word.value === "action") {
      const action = stream.value("an action name");
      builder.matches.push({
        criteria,
        decision: { kind: "action", action: action.value, position: action.position },
        ...withFilters(),
        position: first.position,
      });
      return;
    }
    if (!negated && word.value === "reject") {
      if (filters) {
        throw new StatementError("A rule that rejects has no mail to filter", word.position);
      }
      builder.matches.push({ criteria, decision: { kind: "reject" }, position: first.position });
      return;
    }
    if (!negated && word.value === "filter") {
      if (filters) throw new StatementError('"filter" is given twice in this match', word.position);
      filters = parseNames(stream, "a filter name");
      continue;
    }
    const criterion = parseCriterion(stream, builder, word, negated);
    const clash = criteria.find((c) => sameFamily(c.kind, criterion.kind));
    if (clash) {
      throw new StatementError(`"${word.value}" is given twice in this match`, word.position);
    }
    const shared = criteria.find((c) => sameTest(c.kind, criterion.kind));
    if (shared) {
      const what = testedValue(criterion.kind);
      throw new StatementError(`${what} already specified for this rule`, word.position);
    }
    criteria.push(criterion);
  }
}

// `from auth` and `auth` test the same login, `from mail-from` and `mail-from` the same
// sender, `for rcpt-to` and `rcpt-to` the same recipient: one of each pair per match.
function testedValue(kind: CriterionKind): string {
  return kind.replace(/^(from|for)-/, "");
}

function sameTest(a: CriterionKind, b: CriterionKind): boolean {
  const paired = ["auth", "mail-from", "rcpt-to"];
  return a !== b && paired.includes(testedValue(a)) && testedValue(a) === testedValue(b);
}

/** A match holds at most one `from …` and one `for …`, and each other criterion once. */
export function sameFamily(a: CriterionKind, b: CriterionKind): boolean {
  const family = (k: CriterionKind) =>
    k.startsWith("from-") ? "from" : k.startsWith("for-") ? "for" : k;
  return family(a) === family(b);
}

function parseCriterion(
  stream: TokenStream,
  builder: ConfigBuilder,
  word: Token,
  initiallyNegated: boolean,
): Criterion {
  let negated = initiallyNegated;
  // `! from src …` is the grammar; `from ! src …` (the legacy place) is accepted too.
  const innerNegation = () => {
    if (stream.peek().kind !== "!") return;
    const bang = stream.next();
    if (negated) throw new StatementError("Negated twice", bang.position);
    negated = true;
  };
  const make = (kind: CriterionKind, table?: TableRef, regex?: boolean): Criterion => ({
    kind,
    negated,
    ...(table ? { table } : {}),
    ...(regex ? { regex } : {}),
    position: word.position,
  });
  const withTable = (kind: CriterionKind): Criterion => {
    const regex = stream.accept("regex");
    return make(kind, parseTableArgument(stream, builder), regex);
  };
  const optionalTable = (kind: CriterionKind): Criterion =>
    startsTable(stream) || stream.peekWord("regex") ? withTable(kind) : make(kind);
  switch (word.value) {
    case "from": {
      innerNegation();
      const what = stream.expectWord("what `from` matches");
      switch (what.value) {
        case "any":
          return make("from-any");
        case "local":
          return make("from-local");
        case "socket":
          return make("from-socket");
        case "src":
          return withTable("from-src");
        case "rdns":
          return optionalTable("from-rdns");
        case "auth":
          return optionalTable("from-auth");
        case "mail-from":
          return withTable("from-mail-from");
        default:
          throw stream.unknown(what, FROM_WORDS);
      }
    }
    case "for": {
      innerNegation();
      const what = stream.expectWord("what `for` matches");
      switch (what.value) {
        case "any":
          return make("for-any");
        case "local":
          return make("for-local");
        case "domain":
          return withTable("for-domain");
        case "rcpt-to":
          return withTable("for-rcpt-to");
        default:
          throw stream.unknown(what, FOR_WORDS);
      }
    }
    case "auth":
      return optionalTable("auth");
    case "helo":
      return withTable("helo");
    case "mail-from":
      return withTable("mail-from");
    case "rcpt-to":
      return withTable("rcpt-to");
    case "tag": {
      if (stream.peek().kind === "<" || stream.peek().kind === "{" || stream.peekWord("regex")) {
        return withTable("tag");
      }
      return { kind: "tag", negated, value: stream.value("a tag").value, position: word.position };
    }
    case "tls":
      return make("tls");
    default:
      throw stream.unknown(word, MATCH_WORDS, "match criterion");
  }
}
