// The rule grammar before OpenSMTPD 6.4: `accept|reject [tagged T] [from …] [sender <t>]
// [for …] [alias|virtual <t>] [userbase <t>] deliver to …|relay …`. Each rule becomes an
// action and a match of the one model (identical actions are shared).

import type { Token } from "./lexer.ts";
import { type ConfigBuilder, type Mutable, parseTableArgument } from "./builder.ts";
import type { Action, Criterion, DeliveryMethod, Match, RelayOptions, TableRef } from "./model.ts";
import { GRAMMAR_KEYWORDS, LEGACY_ONLY_KEYWORDS } from "./grammar_keywords.ts";
import { checkRelay, parseLocalOption, parseRelayOption } from "./parse_action.ts";
import { sameFamily } from "./parse_match.ts";
import { parseRelayTarget } from "./relay_url.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseDuration } from "./units.ts";

const RULE_WORDS = [
  "tagged",
  "authenticated",
  "from",
  "sender",
  "for",
  "recipient",
  "alias",
  "virtual",
  "userbase",
  "deliver",
  "relay",
  "expire",
  "forward-only",
];
const LEGACY_FROM = ["any", "local", "source"];
const LEGACY_FOR = ["any", "local", "domain"];

/** Parses `accept …` or `reject …` (the first word already read). */
export function parseLegacyRule(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  const criteria: Criterion[] = [];
  // Named and given its method once the rule is read.
  const action: Mutable<Action> = { name: "", method: { kind: "mbox" }, position: first.position };
  let method: DeliveryMethod | undefined;
  const relay: Mutable<RelayOptions> = {};
  // Options only a local delivery can use, to refuse them on relay and reject rules.
  const localWords: Token[] = [];
  let deliveryWord: Token | undefined;
  // As in a match, each criterion (and one `from`, one `for`) at most once.
  const add = (word: Token, c: Criterion) => {
    if (criteria.some((other) => sameFamily(other.kind, c.kind))) {
      throw new StatementError(`"${word.value}" is given twice in this rule`, word.position);
    }
    criteria.push(c);
  };
  const criterion = (word: Token, kind: Criterion["kind"], negated: boolean, table?: TableRef) =>
    add(word, { kind, negated, ...(table ? { table } : {}), position: word.position });
  // One way of delivering per rule: a second one is refused, not silently preferred.
  const delivery = (word: Token) => {
    if (first.value === "reject") throw rejectHasNoDelivery(word);
    if (deliveryWord) {
      throw new StatementError(
        `"${word.value}" is a second delivery: this rule already has "${deliveryWord.value}"`,
        word.position,
      );
    }
    deliveryWord = word;
  };
  const bang = () => {
    if (stream.peek().kind !== "!") return false;
    stream.next();
    return true;
  };

  while (!stream.atEnd()) {
    const negatedWord = bang();
    const word = stream.expectWord("a rule keyword");
    if (negatedWord && word.value !== "authenticated") {
      throw new StatementError(`"!" cannot stand before "${word.value}"`, word.position);
    }
    if (method?.kind === "relay" && parseLegacyRelayOption(stream, builder, relay, word)) continue;
    if (method && method.kind !== "relay" && parseLocalOption(stream, builder, action, word)) {
      localWords.push(word);
      continue;
    }
    switch (word.value) {
      case "tagged": {
        const negated = bang();
        add(word, {
          kind: "tag",
          negated,
          value: stream.value("a tag").value,
          position: word.position,
        });
        break;
      }
      case "from": {
        const negated = bang();
        const what = stream.expectWord("any, local or source");
        if (what.value === "any") criterion(word, "from-any", negated);
        else if (what.value === "local") criterion(word, "from-local", negated);
        else if (what.value === "source") {
          criterion(word, "from-src", negated, parseTableArgument(stream, builder));
        } else throw stream.unknown(what, LEGACY_FROM);
        break;
      }
      case "authenticated":
        add(word, { kind: "auth", negated: negatedWord, position: word.position });
        break;
      case "recipient": {
        const negated = bang();
        criterion(word, "rcpt-to", negated, parseTableArgument(stream, builder));
        break;
      }
      case "forward-only":
        delivery(word);
        method = { kind: "forward-only" };
        action.method = method;
        break;
      case "as":
        // `deliver to mda|lmtp … as USER`
        action.user = stream.value("a user name").value;
        localWords.push(word);
        break;
      case "sender": {
        const negated = bang();
        criterion(word, "mail-from", negated, parseTableArgument(stream, builder));
        break;
      }
      case "for": {
        const negated = bang();
        const what = stream.expectWord("any, local or domain");
        if (what.value === "any") criterion(word, "for-any", negated);
        else if (what.value === "local") criterion(word, "for-local", negated);
        else if (what.value === "domain") {
          criterion(word, "for-domain", negated, parseTableArgument(stream, builder));
        } else throw stream.unknown(what, LEGACY_FOR);
        break;
      }
      case "alias":
      case "virtual":
      case "userbase":
        // Before `deliver to`, these still belong to the rule.
        parseLocalOption(stream, builder, action, word);
        localWords.push(word);
        break;
      case "deliver":
        delivery(word);
        stream.expectKeyword("to");
        method = parseLegacyMethod(stream);
        action.method = method;
        break;
      case "relay":
        delivery(word);
        method = { kind: "relay" };
        break;
      case "expire": {
        const value = stream.value("a duration");
        const ttl = parseDuration(value.value);
        if (ttl === undefined) {
          throw new StatementError(`Bad duration "${value.value}"`, value.position);
        }
        action.ttl = ttl;
        localWords.push(word);
        break;
      }
      default:
        throw stream.unknown(word, RULE_WORDS);
    }
  }
  checkLegacyOptions(first, method, localWords);

  // A legacy rule without `from` means `from local`, without `for` means `for local`,
  // as in the modern grammar; the model spells the defaults out.
  if (!criteria.some((c) => c.kind.startsWith("from-"))) {
    criteria.unshift({ kind: "from-local", negated: false, position: first.position });
  }
  if (!criteria.some((c) => c.kind.startsWith("for-"))) {
    criteria.push({ kind: "for-local", negated: false, position: first.position });
  }
  const push = (decision: Match["decision"]) => {
    for (const c of authenticatedCountsAsLocal(criteria)) {
      builder.matches.push({ criteria: c, decision, position: first.position });
    }
  };
  if (first.value === "reject") {
    push({ kind: "reject" });
    return;
  }
  if (!method) {
    throw new StatementError('An accept rule needs "deliver to …" or "relay"', first.position);
  }
  if (method.kind === "relay") checkRelay(relay, first.position);
  const finalMethod: DeliveryMethod = method.kind === "relay"
    ? { kind: "relay", ...relay }
    : method;
  const { name: _unnamed, ...rest } = action;
  const name = shareAction(builder, { ...rest, method: finalMethod });
  push({ kind: "action", action: name });
}

/**
 * OpenSMTPD 6.0's ruleset.c looks an authenticated session up as the source "local", so a
 * legacy `from local` (written or implied) also holds for any authenticated client: the
 * rule becomes two matches, `from local …` and `from auth …` (one, `from auth`, when the
 * rule asks for `authenticated` anyway), and `from ! local` also needs `! auth`. The
 * modern grammar keeps `from local` to the machine's own addresses and the socket.
 */
function authenticatedCountsAsLocal(criteria: Criterion[]): Criterion[][] {
  const index = criteria.findIndex((c) => c.kind === "from-local");
  if (index === -1) return [criteria];
  const local = criteria[index]!;
  const anyAuth = (c: Criterion) => c.kind === "auth" && !c.table;
  if (local.negated) {
    // An `authenticated` of the rule's own already says it (a match takes auth once).
    if (criteria.some(anyAuth)) return [criteria];
    return [[...criteria, { kind: "auth", negated: true, position: local.position }]];
  }
  // `! authenticated`: no authenticated session matches, so no `from auth` rule either.
  if (criteria.some((c) => anyAuth(c) && c.negated)) return [criteria];
  const fromAuth = criteria.toSpliced(index, 1, {
    kind: "from-auth",
    negated: false,
    position: local.position,
  });
  const plainAuth = (c: Criterion) => c.kind === "auth" && !c.negated && !c.table;
  if (criteria.some(plainAuth)) return [fromAuth.filter((c) => !plainAuth(c))];
  return [criteria, fromAuth];
}

function parseLegacyMethod(stream: TokenStream): DeliveryMethod {
  const word = stream.expectWord("mbox, maildir, mda or lmtp");
  switch (word.value) {
    case "mbox":
      return { kind: "mbox" };
    case "maildir": {
      const path = stream.peek().kind === "string" ? stream.next().value : undefined;
      return { kind: "maildir", ...(path === undefined ? {} : { path }), junk: false };
    }
    case "mda":
      return { kind: "mda", command: stream.value("a command").value };
    case "lmtp":
      return {
        kind: "lmtp",
        destination: stream.value("an LMTP destination").value,
        // 6.0: `deliver to lmtp DEST rcpt-to` sends the envelope's recipient in RCPT TO.
        rcptTo: stream.accept("rcpt-to"),
      };
    default:
      throw stream.unknown(word, ["mbox", "maildir", "mda", "lmtp"], "delivery method");
  }
}

// What the modern grammar refuses, refused here too: the rule must print as an action.
function checkLegacyOptions(
  first: Token,
  method: DeliveryMethod | undefined,
  localWords: readonly Token[],
): void {
  for (const word of localWords) {
    if (first.value === "reject") {
      throw new StatementError(
        `A reject rule delivers nothing: "${word.value}" has no use`,
        word.position,
      );
    }
    if (method?.kind === "relay" && word.value !== "expire") {
      throw new StatementError(`"${word.value}" cannot be used with relay`, word.position);
    }
    const userless = ["mbox", "forward-only", "expand-only"];
    if (word.value === "as" && method && userless.includes(method.kind)) {
      throw new StatementError(`"as" cannot be used with ${method.kind}`, word.position);
    }
  }
}

function rejectHasNoDelivery(word: Token): StatementError {
  return new StatementError(`A reject rule cannot "${word.value}"`, word.position);
}

// Rules that deliver the same way share one action, named after its method.
function shareAction(
  builder: ConfigBuilder,
  candidate: Omit<Action, "name">,
): string {
  const key = actionKey(candidate);
  const existing = builder.sharedActions.get(key);
  if (existing) return existing;
  const base = candidate.method.kind;
  let name: string = base;
  let n = builder.sharedActionNumbers.get(base) ?? 2;
  while (builder.hasAction(name)) name = `${base}-${n++}`;
  builder.sharedActionNumbers.set(base, n);
  builder.addAction({ ...candidate, name });
  builder.sharedActions.set(key, name);
  return name;
}

function actionKey(action: Omit<Action, "name">): string {
  return JSON.stringify(action, (key, value) => (key === "position" ? undefined : value));
}

// Relay options as the legacy grammar spelt them, mapped to their modern meaning.
function parseLegacyRelayOption(
  stream: TokenStream,
  builder: ConfigBuilder,
  relay: Mutable<RelayOptions>,
  word: Token,
): boolean {
  switch (word.value) {
    case "as":
      relay.mailFrom = stream.value("an address").value;
      return true;
    case "hostname":
      relay.helo = stream.value("a host name").value;
      return true;
    case "hostnames":
      relay.heloSrc = parseTableArgument(stream, builder);
      return true;
    case "tls":
      // Legacy `tls` required STARTTLS without verifying; `tls verify` verified.
      relay.tls = stream.accept("verify") ? "required" : "no-verify";
      return true;
    case "verify":
      refuseInsecureVerify(relay.host, word);
      relay.tls = "required";
      return true;
    case "backup": {
      // 6.0 parse.y: BACKUP [STRING]; a bare word is the MX name unless it is a keyword.
      if (relay.backup) {
        throw new StatementError("backup already specified for this dispatcher", word.position);
      }
      const next = stream.peek();
      const named = next.kind === "string" ||
        (next.kind === "word" && !GRAMMAR_KEYWORDS.has(next.value) &&
          !LEGACY_ONLY_KEYWORDS.has(next.value));
      relay.backup = named ? { mx: stream.next().value } : {};
      return true;
    }
    case "via": {
      const url = stream.value("a relay URL");
      const target = parseRelayTarget(modernRelayUrl(url.value));
      if (typeof target === "string") throw new StatementError(target, url.position);
      relay.host = target;
      // Before 6.4 a TLS relay was not verified unless the rule said `verify`.
      if (target.security === "starttls" || target.security === "smtps") relay.tls ??= "no-verify";
      return true;
    }
    default:
      return parseRelayOption(stream, builder, relay, word);
  }
}

// 6.0 parse.y refused `via URL verify` unless the URL's protocol required TLS (F_SSL).
function refuseInsecureVerify(host: RelayOptions["host"], word: Token): void {
  if (!host || host.security === "starttls" || host.security === "smtps") return;
  throw new StatementError(
    'Cannot "verify" with an insecure protocol: relay via tls:// or smtps:// to verify',
    word.position,
  );
}

// Legacy URL schemes → modern ones (smtp+tls used to mean "TLS if offered", and smtp
// plain SMTP: 6.0's mta_session forced plain text for a relay without a TLS flag).
const LEGACY_SCHEMES: Readonly<Record<string, string>> = {
  "smtp": "smtp+notls",
  "smtp+tls": "smtp",
  "tls": "smtp+tls",
  "tls+auth": "smtp+tls",
  "smtps+auth": "smtps",
  "secure": "smtps",
  "secure+auth": "smtps",
  "ssl": "smtps",
  "backup": "smtp",
  "tls+backup": "smtp+tls",
};

function modernRelayUrl(url: string): string {
  const m = /^([a-z+]+):\/\/(.*)$/.exec(url);
  if (!m) return url;
  const scheme = LEGACY_SCHEMES[m[1]!] ?? m[1]!;
  return `${scheme}://${m[2]}`;
}
