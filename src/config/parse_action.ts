// `action "NAME" METHOD [options]`: local delivery methods and relaying.

import type { Token } from "./lexer.ts";
import {
  type ConfigBuilder,
  type Mutable,
  parseDurationToken,
  parseTableArgument,
} from "./builder.ts";
import type { Action, DeliveryMethod, RelayOptions, RelayTarget } from "./model.ts";
import { GRAMMAR_KEYWORDS } from "./grammar_keywords.ts";
import { parseNames } from "./parse_listen.ts";
import { parseRelayTarget } from "./relay_url.ts";
import { StatementError, type TokenStream } from "./stream.ts";

const METHODS = ["maildir", "mbox", "mda", "lmtp", "forward-only", "expand-only", "relay"];
const LOCAL_OPTIONS = ["alias", "virtual", "userbase", "user", "wrapper", "ttl"];
const RELAY_OPTIONS = [
  "filter",
  "host",
  "backup",
  "helo",
  "helo-src",
  "domain",
  "tls",
  "tls-policy",
  "auth",
  "mail-from",
  "src",
  "pki",
  "ca",
  "srs",
  "ttl",
];

/** Parses the statement after `action`. */
export function parseAction(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  const name = stream.value("an action name");
  if (builder.hasAction(name.value)) {
    throw new StatementError(`Action "${name.value}" is already declared`, name.position);
  }
  try {
    const method = parseMethod(stream);
    const action: Mutable<Action> = { name: name.value, method, position: first.position };
    if (method.kind === "relay") {
      action.method = parseRelayOptions(stream, builder, action);
    } else {
      parseLocalOptions(stream, builder, action);
    }
    stream.endOfStatement();
    builder.addAction(action);
  } catch (error) {
    // One error for a refused action, not one more at every match that names it.
    builder.refusedActions.add(name.value);
    throw error;
  }
}

/** The delivery method and its own arguments. */
export function parseMethod(stream: TokenStream): DeliveryMethod {
  const word = stream.expectWord("a delivery method");
  switch (word.value) {
    case "maildir": {
      // parse.y: MAILDIR [STRING] [JUNK], and a bare word is a STRING unless it is a keyword.
      const next = stream.peek();
      const isPath = next.kind === "string" ||
        (next.kind === "word" && !GRAMMAR_KEYWORDS.has(next.value));
      const path = isPath ? stream.next().value : undefined;
      const junk = stream.accept("junk");
      return { kind: "maildir", ...(path === undefined ? {} : { path }), junk };
    }
    case "mbox":
      return { kind: "mbox" };
    case "mda":
      return { kind: "mda", command: stream.value("a command").value };
    case "lmtp": {
      const destination = stream.value("an LMTP destination").value;
      return { kind: "lmtp", destination, rcptTo: stream.accept("rcpt-to") };
    }
    case "forward-only":
      return { kind: "forward-only" };
    case "expand-only":
      return { kind: "expand-only" };
    case "relay":
      return { kind: "relay" };
    default:
      throw stream.unknown(word, METHODS, "delivery method");
  }
}

/** `alias`, `virtual`, `userbase`, `user`, `wrapper`, `ttl` of a local action. */
export function parseLocalOptions(
  stream: TokenStream,
  builder: ConfigBuilder,
  action: Mutable<Action>,
): void {
  while (!stream.atEnd()) {
    const option = stream.expectWord("an action option");
    if (!parseLocalOption(stream, builder, action, option)) {
      throw stream.unknown(option, LOCAL_OPTIONS, "action option");
    }
  }
}

/** One local option; false when the word is not one. */
export function parseLocalOption(
  stream: TokenStream,
  builder: ConfigBuilder,
  action: Mutable<Action>,
  option: Token,
): boolean {
  switch (option.value) {
    case "alias":
    case "virtual": {
      const other = option.value === "alias" ? "virtual" : "alias";
      refuseRepeat(action[option.value], `${option.value} mapping`, option);
      if (action[other]) {
        throw new StatementError('"alias" and "virtual" cannot be used together', option.position);
      }
      action[option.value] = parseTableArgument(stream, builder);
      return true;
    }
    case "userbase":
      refuseRepeat(action.userbase, "userbase mapping", option);
      action.userbase = parseTableArgument(stream, builder);
      return true;
    case "user":
      if (["mbox", "forward-only", "expand-only"].includes(action.method.kind)) {
        throw new StatementError(
          `"user" cannot be used with ${action.method.kind}`,
          option.position,
        );
      }
      refuseRepeat(action.user, "user", option);
      action.user = stream.value("a user name").value;
      return true;
    case "wrapper":
      refuseRepeat(action.wrapper, "wrapper", option);
      action.wrapper = stream.value("a wrapper name").value;
      return true;
    case "ttl":
      refuseRepeat(action.ttl, "ttl", option);
      action.ttl = parseDurationToken(stream);
      return true;
    default:
      return false;
  }
}

// An option that takes one value, given again, would silently replace the first: refused
// in parse.y's words ("helo already specified for this dispatcher").
function refuseRepeat(present: unknown, what: string, option: Token): void {
  if (present === undefined || present === false) return;
  throw new StatementError(`${what} already specified for this dispatcher`, option.position);
}

function parseRelayOptions(
  stream: TokenStream,
  builder: ConfigBuilder,
  action: Mutable<Action>,
): DeliveryMethod {
  const relay: Mutable<RelayOptions> = {};
  while (!stream.atEnd()) {
    const option = stream.expectWord("a relay option");
    if (!parseRelayOption(stream, builder, relay, option)) {
      if (option.value === "ttl") {
        refuseRepeat(action.ttl, "ttl", option);
        action.ttl = parseDurationToken(stream);
        continue;
      }
      throw stream.unknown(option, RELAY_OPTIONS, "relay option");
    }
  }
  checkRelay(relay, action.position);
  return { kind: "relay", ...relay };
}

/** One relay option (also used by the legacy `relay …` rules); false when not one. */
export function parseRelayOption(
  stream: TokenStream,
  builder: ConfigBuilder,
  relay: Mutable<RelayOptions>,
  option: Token,
): boolean {
  switch (option.value) {
    case "host":
    case "via":
      refuseRepeat(relay.host, "host mapping", option);
      relay.host = parseRelayUrl(stream, option.value === "host");
      return true;
    case "backup":
      refuseRepeat(relay.backup, "backup", option);
      relay.backup = stream.accept("mx") ? { mx: stream.value("an MX name").value } : {};
      return true;
    case "helo":
      if (stream.peek().kind === "<" || stream.peek().kind === "{") {
        // Legacy `helo <table>` is the modern `helo-src <table>`.
        refuseRepeat(relay.heloSrc, "helo-source mapping", option);
        relay.heloSrc = parseTableArgument(stream, builder);
      } else {
        refuseRepeat(relay.helo, "helo", option);
        relay.helo = stream.value("a HELO name").value;
      }
      return true;
    case "helo-src":
      refuseRepeat(relay.heloSrc, "helo-source mapping", option);
      relay.heloSrc = parseTableArgument(stream, builder);
      return true;
    case "domain":
      refuseRepeat(relay.domain, "domain mapping", option);
      relay.domain = parseTableArgument(stream, builder);
      return true;
    case "tls":
      refuseRepeat(relay.tls, "tls", option);
      relay.tls = stream.accept("no-verify") ? "no-verify" : "required";
      return true;
    case "tls-policy":
      refuseRepeat(relay.tlsPolicy, "tls-policy mapping", option);
      relay.tlsPolicy = parseTableArgument(stream, builder);
      return true;
    case "auth":
      refuseRepeat(relay.auth, "auth mapping", option);
      relay.auth = parseTableArgument(stream, builder);
      return true;
    case "mail-from":
      refuseRepeat(relay.mailFrom, "mail-from", option);
      relay.mailFrom = stream.value("an address").value;
      return true;
    case "src":
    case "source":
      refuseRepeat(relay.src, "source mapping", option);
      relay.src = parseTableArgument(stream, builder);
      return true;
    case "pki":
      refuseRepeat(relay.pki, "pki", option);
      relay.pki = stream.value("a pki name").value.toLowerCase();
      return true;
    case "ca":
      refuseRepeat(relay.ca, "ca", option);
      relay.ca = stream.value("a ca name").value;
      return true;
    case "srs":
      refuseRepeat(relay.srs, "srs", option);
      relay.srs = true;
      return true;
    case "filter":
      // parse.y: `filter NAME` or `filter { … }`, for the outbound sessions' reports.
      refuseRepeat(relay.filters, "filter", option);
      relay.filters = parseNames(stream, "a filter name");
      builder.ignored.push({ what: "relay filter", position: option.position });
      return true;
    default:
      return false;
  }
}

// A relay URL; in the modern grammar (`host`) a scheme of before 6.4 is taken with a
// warning naming its modern spelling (OpenSMTPD 6.4+ accepts it at -n, then fails at
// delivery: here it means what it meant).
function parseRelayUrl(stream: TokenStream, modern: boolean): RelayTarget {
  const url = stream.value("a relay URL");
  const target = parseRelayTarget(url.value);
  if (typeof target === "string") throw new StatementError(target, url.position);
  const scheme = /^([a-z+]+):\/\//i.exec(url.value)?.[1]?.toLowerCase();
  const modernSpelling = scheme === undefined ? undefined : PRE_6_4_SCHEMES[scheme];
  if (modern && modernSpelling) {
    stream.warn(
      `"${scheme}://" is the spelling of OpenSMTPD before 6.4: write "${modernSpelling}://"`,
      url,
    );
  }
  return target;
}

/** The relay URL schemes of the legacy grammar, with their modern spellings. */
const PRE_6_4_SCHEMES: Readonly<Record<string, string>> = {
  tls: "smtp+tls",
  ssl: "smtps",
  secure: "smtps",
};

/**
 * Refuses what could never be delivered as written (smtpd.conf(5)): credentials that would
 * travel in clear or have no label to look them up by, TLS options on a connection that
 * never uses TLS.
 */
export function checkRelay(relay: RelayOptions, position: Action["position"]): void {
  const host = relay.host;
  if (relay.tlsPolicy && host) {
    throw new StatementError(
      '"tls-policy" applies to delivery by MX: the TLS of "host" is set by its URL and "tls"',
      position,
    );
  }
  if (relay.backup && (host || relay.domain)) {
    throw new StatementError('"backup" cannot be used with "host" or "domain"', position);
  }
  // One smarthost slot, as in OpenSMTPD's grammar: with "host" the "domain" map is never read.
  if (host && relay.domain) {
    throw new StatementError(
      '"host" and "domain" both say where to relay: give one (a host mapping is already specified)',
      position,
    );
  }
  if (relay.auth && !host) {
    throw new StatementError('"auth" needs a "host" to authenticate to', position);
  }
  if (host?.label !== undefined && !relay.auth) {
    throw new StatementError(
      `The label "${host.label}" in "${host.url}" names credentials: add "auth <table>"`,
      position,
    );
  }
  if (relay.auth && host && host.label === undefined) {
    throw new StatementError(
      `"auth" needs a label in the URL to find the credentials: ${
        host.url.replace(/^([a-z+]+:\/\/)?/, (s) => `${s || "smtp+tls://"}label@`)
      }`,
      position,
    );
  }
  if (relay.auth && host && host.security !== "starttls" && host.security !== "smtps") {
    throw new StatementError(
      `"auth" sends credentials only over TLS: use smtp+tls:// or smtps:// instead of "${host.url}"`,
      position,
    );
  }
  const noTls = host?.security === "none";
  if (noTls && relay.tls) {
    throw new StatementError(`"tls" contradicts "${host.url}", which never uses TLS`, position);
  }
  if (noTls && (relay.pki || relay.ca)) {
    throw new StatementError(
      `"${relay.pki ? "pki" : "ca"}" needs TLS, which "${host.url}" never uses`,
      position,
    );
  }
}
