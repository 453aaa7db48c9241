// The statement loop of smtpd.conf: dispatches each statement to its parser, reports
// errors with their positions and resumes at the next line, so one check finds them all.

import { CIPHERS_NOT_APPLIED } from "./tls_protocols.ts";
import { ConfigBuilder, parseCount } from "./builder.ts";
import type { Diagnostic } from "./errors.ts";
import type { Token } from "./lexer.ts";
import type { Config } from "./model.ts";
import { parseAction } from "./parse_action.ts";
import {
  ignoreRest,
  parseBounce,
  parseBounceIntervals,
  parseCa,
  parseInclude,
  parseMda,
  parseMta,
  parsePki,
  parseProc,
  parseQueue,
  parseSizeToken,
  parseSmtp,
  parseSrs,
  parseSubAddrDelim,
  parseTable,
} from "./parse_globals.ts";
import { parseLegacyRule } from "./parse_legacy.ts";
import { parseFilter } from "./parse_filter.ts";
import { parseListen } from "./parse_listen.ts";
import { parseMatch } from "./parse_match.ts";
import { parseControl, parseLog, parseMetrics } from "./parse_operating.ts";
import { parseMtaLimit } from "./parse_mta.ts";
import { StatementError, TokenStream } from "./stream.ts";
import { parseDuration } from "./units.ts";

type StatementParser = (stream: TokenStream, builder: ConfigBuilder, first: Token) => void;

/** A rule statement, refused when the file already uses the other rule grammar. */
function inGrammar(grammar: "modern" | "legacy", parse: StatementParser): StatementParser {
  return (stream, builder, first) => {
    ruleGrammar(builder, first, grammar);
    parse(stream, builder, first);
  };
}

/** Every top-level statement, by its first word. */
const STATEMENTS: Readonly<Record<string, StatementParser>> = {
  include: parseInclude,
  table: parseTable,
  pki: parsePki,
  ca: parseCa,
  srs: parseSrs,
  listen: parseListen,
  action: inGrammar("modern", parseAction),
  match: inGrammar("modern", parseMatch),
  accept: inGrammar("legacy", parseLegacyRule),
  reject: inGrammar("legacy", parseLegacyRule),
  queue: parseQueue,
  smtp: parseSmtp,
  bounce: parseBounce,
  mta: parseMta,
  mda: parseMda,
  proc: parseProc,
  filter: parseFilter,
  scheduler: (stream, builder, first) => ignoreRest(stream, builder, "scheduler", first),
  // OpenSMTPD 5.7's TLS curve (`curve secp384r1`): the TLS library chooses curves here.
  curve: (stream, builder, first) => {
    stream.value("a curve name");
    builder.ignored.push({ what: "curve", position: first.position });
  },
  metrics: parseMetrics,
  log: parseLog,
  control: parseControl,
  admd: (stream, builder) => {
    builder.admd = stream.value("an authserv-id").value;
  },
  // Legacy globals.
  "max-message-size": (stream, builder) => {
    builder.smtp.maxMessageSize = parseSizeToken(stream);
  },
  "bounce-warn": (stream, builder) => parseBounceIntervals(stream, builder),
  "max-mta-deferred": (stream, builder, first) => {
    builder.mtaMaxDeferred = parseCount(stream, "number");
    builder.ignored.push({ what: "mta max-deferred", position: first.position });
  },
  "subaddressing-delimiter": (stream, builder) => parseSubAddrDelim(stream, builder),
  ciphers: (stream, builder) => {
    const list = stream.value("a cipher list");
    stream.warn(CIPHERS_NOT_APPLIED, list);
    builder.smtp.ciphers = list.value;
  },
  limit: (stream, builder) => {
    const scope = stream.expectWord("session, mta, mda or scheduler");
    // Legacy `limit mta …`: the same keys as `mta limit …`.
    if (scope.value === "mta") return parseMtaLimit(stream, builder);
    if (scope.value === "mda" || scope.value === "scheduler") {
      return ignoreRest(stream, builder, `limit ${scope.value}`, scope);
    }
    if (scope.value !== "session") {
      throw stream.unknown(scope, ["session", "mta", "mda", "scheduler"], "limit");
    }
    while (!stream.atEnd()) {
      const key = stream.expectWord("a limit");
      if (key.value === "max-rcpt") builder.smtp.maxRcpt = parseCount(stream, "number");
      else if (key.value === "max-mails") builder.smtp.maxMails = parseCount(stream, "number");
      else throw stream.unknown(key, ["max-rcpt", "max-mails"], "session limit");
    }
  },
  expire: (stream, builder) => {
    const value = stream.value("a duration");
    const ttl = parseDuration(value.value);
    if (ttl === undefined) {
      throw new StatementError(`Bad duration "${value.value}"`, value.position);
    }
    builder.queue.ttl = ttl;
  },
};

/** The keywords a statement may start with, for "did you mean". */
export const STATEMENT_WORDS: readonly string[] = Object.keys(STATEMENTS);

/** Options of {@link parseTokens}. */
export interface ParseOptions {
  readonly file: string;
  readonly defines?: Readonly<Record<string, string>>;
  readonly readFile?: (path: string) => string;
  /** TCP port names (services(5)); the mail ports' usual names without it. */
  readonly services?: ReadonlyMap<string, number>;
}

/** Parses text (and its includes) into an unvalidated model; diagnostics are appended. */
export function parseTokens(
  text: string,
  options: ParseOptions,
  diagnostics: Diagnostic[],
  sources: Map<string, string> = new Map(),
): Config {
  const defines = new Map(Object.entries(options.defines ?? {}));
  const macros = new Map(defines);
  const stream = new TokenStream(text, {
    file: options.file,
    macros,
    diagnostics,
    sources,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  });
  const builder = new ConfigBuilder(options.file, macros);
  if (options.services) builder.services = options.services;
  const report = (error: unknown) => {
    if (!(error instanceof StatementError)) throw error;
    diagnostics.push({ severity: "error", message: error.message, position: error.position });
  };
  while (true) {
    try {
      const token = stream.peek();
      if (token.kind === "eof") break;
      if (token.kind === "newline") {
        stream.next();
        continue;
      }
      statement(stream, builder, defines);
      stream.endOfStatement();
    } catch (error) {
      report(error);
      recover(stream, report);
    }
  }
  return builder.build();
}

// Skips the rest of a refused statement; a line refused while skipping is reported too.
function recover(stream: TokenStream, report: (error: unknown) => void): void {
  while (true) {
    try {
      stream.skipLine();
      return;
    } catch (error) {
      report(error);
    }
  }
}

function statement(
  stream: TokenStream,
  builder: ConfigBuilder,
  defines: ReadonlyMap<string, string>,
): void {
  const first = stream.next();
  if (first.kind !== "word") throw stream.unexpected(first, "a statement");
  if (stream.peek().kind === "=") return macro(stream, builder, defines, first);
  const parse = STATEMENTS[first.value];
  if (!parse) throw stream.unknown(first, STATEMENT_WORDS);
  parse(stream, builder, first);
}

// name = value; -D definitions win over the file's.
function macro(
  stream: TokenStream,
  builder: ConfigBuilder,
  defines: ReadonlyMap<string, string>,
  name: Token,
): void {
  stream.next();
  const value = stream.value("a macro value");
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.value)) {
    throw new StatementError(`Bad macro name "${name.value}"`, name.position);
  }
  if (!defines.has(name.value)) builder.macros.set(name.value, value.value);
}

// One file speaks one rule grammar: mixing `accept`/`reject` with `action`/`match` is
// refused, since their defaults and order would be ambiguous together.
function ruleGrammar(builder: ConfigBuilder, first: Token, grammar: "modern" | "legacy"): void {
  const mine = grammar === "modern" ? "firstModernRule" : "firstLegacyRule";
  const other = grammar === "modern" ? builder.firstLegacyRule : builder.firstModernRule;
  if (other) {
    const was = grammar === "modern" ? "legacy (accept/reject)" : "modern (action/match)";
    throw new StatementError(
      `"${first.value}" mixes rule grammars: line ${other.line} already uses the ${was} grammar`,
      first.position,
    );
  }
  builder[mine] ??= first.position;
}
