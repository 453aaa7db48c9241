// The smtpd.conf grammar: statements read from the token stream into the model. Errors
// are collected with their positions and parsing resumes at the next line, so one check
// reports every mistake.

import type { Diagnostic, SourcePosition } from "./errors.ts";
import { Lexer, type Token, type TokenKind } from "./lexer.ts";
import {
  type Action,
  type Config,
  type Criterion,
  type CriterionKind,
  DEFAULTS,
  type DeliveryMethod,
  type Listener,
  type Match,
  type TableDecl,
  type TableRef,
} from "./model.ts";
import { suggest } from "./suggest.ts";
import { NAMED_PORTS, parseDuration, parseSize } from "./units.ts";

/** Thrown inside the parser to abandon the current statement. */
class StatementError extends Error {
  readonly position: SourcePosition;
  constructor(message: string, position: SourcePosition) {
    super(message);
    this.position = position;
  }
}

/** Top-level keywords, for "did you mean". */
export const STATEMENTS = ["table", "listen", "action", "match", "queue", "smtp", "hostname"];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Options of {@link parseTokens}. */
export interface ParseOptions {
  readonly file: string;
  readonly defines?: Readonly<Record<string, string>>;
}

/** Parses one file's text into an unvalidated model; diagnostics are appended. */
export function parseTokens(
  text: string,
  options: ParseOptions,
  diagnostics: Diagnostic[],
): Config {
  return new Parser(text, options, diagnostics).parse();
}

class Parser {
  #lexer: Lexer;
  #peeked: Token | undefined;
  #diagnostics: Diagnostic[];
  #macros = new Map<string, string>();
  #defines: ReadonlyMap<string, string>;
  #file: string;
  #tables: TableDecl[] = [];
  #listeners: Listener[] = [];
  #actions: Action[] = [];
  #matches: Match[] = [];
  #queue: Mutable<Config["queue"]> = { compression: false, ttl: DEFAULTS.queueTtl };
  #smtp: Mutable<Config["smtp"]> = {
    maxMessageSize: DEFAULTS.maxMessageSize,
    maxRcpt: DEFAULTS.maxRcpt,
    maxMails: DEFAULTS.maxMails,
    subAddrDelim: DEFAULTS.subAddrDelim,
  };
  #hostname: string | undefined;

  constructor(text: string, options: ParseOptions, diagnostics: Diagnostic[]) {
    this.#file = options.file;
    this.#diagnostics = diagnostics;
    this.#defines = new Map(Object.entries(options.defines ?? {}));
    for (const [k, v] of this.#defines) this.#macros.set(k, v);
    this.#lexer = new Lexer(text, { file: options.file, macros: this.#macros, diagnostics });
  }

  parse(): Config {
    while (true) {
      const token = this.#peek();
      if (token.kind === "eof") break;
      if (token.kind === "newline") {
        this.#next();
        continue;
      }
      try {
        this.#statement();
        this.#endOfStatement();
      } catch (error) {
        if (!(error instanceof StatementError)) throw error;
        this.#error(error.message, error.position);
        this.#skipLine();
      }
    }
    return {
      file: this.#file,
      macros: this.#macros,
      tables: this.#tables,
      listeners: this.#listeners,
      actions: this.#actions,
      matches: this.#matches,
      queue: this.#queue,
      smtp: this.#smtp,
      ...(this.#hostname === undefined ? {} : { hostname: this.#hostname }),
    };
  }

  #statement(): void {
    const first = this.#next();
    if (first.kind !== "word") throw this.#unexpected(first, "a statement");
    if (this.#peek().kind === "=") return this.#macro(first);
    switch (first.value) {
      case "table":
        return this.#table();
      case "listen":
        return this.#listen(first);
      case "action":
        return this.#action(first);
      case "match":
        return this.#match(first);
      case "queue":
        return this.#queueOption();
      case "smtp":
        return this.#smtpOption();
      case "hostname":
        this.#hostname = this.#value("a host name").value;
        return;
      default:
        throw this.#unknown(first, STATEMENTS);
    }
  }

  // name = value; -D definitions win over the file's.
  #macro(name: Token): void {
    this.#next();
    const value = this.#next();
    if (value.kind !== "word" && value.kind !== "string") {
      throw this.#unexpected(value, "a macro value");
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.value)) {
      throw new StatementError(`Bad macro name "${name.value}"`, name.position);
    }
    if (!this.#defines.has(name.value)) this.#macros.set(name.value, value.value);
  }

  #table(): void {
    const name = this.#expectWord("a table name");
    if (this.#tables.some((t) => t.name === name.value)) {
      throw new StatementError(`Table "${name.value}" is already declared`, name.position);
    }
    const token = this.#peek();
    if (token.kind === "{") {
      this.#tables.push(this.#inlineTable(name.value, false, name.position));
      return;
    }
    const source = this.#value("a table source");
    const colon = source.value.indexOf(":");
    const [backend, config] = colon > 0 && !source.value.startsWith("/")
      ? [source.value.slice(0, colon), source.value.slice(colon + 1)]
      : ["file", source.value];
    if (config === "") throw new StatementError("Missing table path", source.position);
    this.#tables.push({
      name: name.value,
      source: { kind: "backend", backend, config },
      anonymous: false,
      position: name.position,
    });
  }

  // `{ a, b }` or `{ k = v, k2 => v2 }`, entries possibly on several lines.
  #inlineTable(name: string, anonymous: boolean, position: SourcePosition): TableDecl {
    this.#expect("{");
    const values: string[] = [];
    const entries: [string, string][] = [];
    while (true) {
      this.#skipNewlines();
      const token = this.#next();
      if (token.kind === "}") break;
      if (token.kind === ",") continue;
      if (token.kind !== "word" && token.kind !== "string") {
        throw this.#unexpected(token, 'a table entry or "}"');
      }
      if (this.#peek().kind === "=") {
        this.#next();
        entries.push([token.value, this.#value("a value").value]);
      } else {
        values.push(token.value);
      }
    }
    if (values.length > 0 && entries.length > 0) {
      throw new StatementError(
        "A table holds either values or key = value pairs, not both",
        position,
      );
    }
    const source = entries.length > 0
      ? { kind: "map" as const, entries }
      : { kind: "list" as const, values };
    return { name, source, anonymous, position };
  }

  // `<name>`, or an inline table: `"value"`, a bare word, `{ … }`.
  #tableArgument(): TableRef {
    const token = this.#peek();
    if (token.kind === "<") {
      this.#next();
      const name = this.#expectWord("a table name");
      this.#expect(">");
      return { name: name.value, position: name.position };
    }
    const name = `<inline:${token.position.line}:${token.position.column}>`;
    if (token.kind === "{") {
      this.#tables.push(this.#inlineTable(name, true, token.position));
    } else {
      const value = this.#value("a table");
      this.#tables.push({
        name,
        source: { kind: "list", values: [value.value] },
        anonymous: true,
        position: value.position,
      });
    }
    return { name, position: token.position };
  }

  #startsTable(): boolean {
    const kind = this.#peek().kind;
    return kind === "<" || kind === "{" || kind === "string" ||
      (kind === "word" && this.#peek().value === "regex");
  }

  #listen(first: Token): void {
    this.#expectKeyword("on");
    const address = this.#value("an address or interface");
    let port: number = DEFAULTS.port;
    let hostname: string | undefined;
    let tag: string | undefined;
    while (!this.#atEnd()) {
      const option = this.#expectWord("a listen option");
      switch (option.value) {
        case "port": {
          const value = this.#value("a port");
          const parsed = NAMED_PORTS[value.value] ?? Number(value.value);
          if (!/^\d+$/.test(value.value) && NAMED_PORTS[value.value] === undefined) {
            throw new StatementError(`Bad port "${value.value}"`, value.position);
          }
          if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
            throw new StatementError(
              `Bad port "${value.value}": must be 0 to 65535`,
              value.position,
            );
          }
          port = parsed;
          break;
        }
        case "hostname":
          hostname = this.#value("a host name").value;
          break;
        case "tag":
          tag = this.#value("a tag").value;
          break;
        default:
          throw this.#unknown(option, ["port", "hostname", "tag"]);
      }
    }
    this.#listeners.push({
      address: address.value,
      port,
      ...(hostname === undefined ? {} : { hostname }),
      ...(tag === undefined ? {} : { tag }),
      position: first.position,
    });
  }

  #action(first: Token): void {
    const name = this.#value("an action name");
    if (this.#actions.some((a) => a.name === name.value)) {
      throw new StatementError(`Action "${name.value}" is already declared`, name.position);
    }
    const methodToken = this.#expectWord("a delivery method");
    let method: DeliveryMethod;
    switch (methodToken.value) {
      case "maildir": {
        let path: string | undefined;
        let junk = false;
        if (this.#peek().kind === "string") path = this.#next().value;
        if (this.#peekWord("junk")) {
          this.#next();
          junk = true;
        }
        method = { kind: "maildir", ...(path === undefined ? {} : { path }), junk };
        break;
      }
      case "mbox":
        method = { kind: "mbox" };
        break;
      case "mda":
        method = { kind: "mda", command: this.#value("a command").value };
        break;
      case "lmtp": {
        const destination = this.#value("an LMTP destination").value;
        const rcptTo = this.#peekWord("rcpt-to");
        if (rcptTo) this.#next();
        method = { kind: "lmtp", destination, rcptTo };
        break;
      }
      case "forward-only":
        method = { kind: "forward-only" };
        break;
      case "expand-only":
        method = { kind: "expand-only" };
        break;
      case "relay":
        method = { kind: "relay" };
        break;
      default:
        throw this.#unknown(methodToken, [
          "maildir",
          "mbox",
          "mda",
          "lmtp",
          "forward-only",
          "expand-only",
          "relay",
        ]);
    }
    const action: Mutable<Action> = { name: name.value, method, position: first.position };
    while (!this.#atEnd()) {
      const option = this.#expectWord("an action option");
      switch (option.value) {
        case "alias":
        case "virtual":
        case "userbase":
          if (action[option.value]) {
            throw new StatementError(`"${option.value}" is given twice`, option.position);
          }
          action[option.value] = this.#tableArgument();
          break;
        case "user":
          action.user = this.#value("a user name").value;
          break;
        case "ttl": {
          const value = this.#value("a duration");
          const ttl = parseDuration(value.value);
          if (ttl === undefined) {
            throw new StatementError(`Bad duration "${value.value}"`, value.position);
          }
          action.ttl = ttl;
          break;
        }
        case "host":
          if (method.kind !== "relay") throw this.#unknown(option, ACTION_OPTIONS);
          action.method = { kind: "relay", host: this.#value("a relay URL").value };
          break;
        default:
          throw this.#unknown(option, ACTION_OPTIONS);
      }
    }
    if (action.alias && action.virtual) {
      throw new StatementError('"alias" and "virtual" cannot be used together', first.position);
    }
    this.#actions.push(action);
  }

  #match(first: Token): void {
    const criteria: Criterion[] = [];
    while (true) {
      const token = this.#peek();
      if (token.kind === "newline" || token.kind === "eof") {
        throw new StatementError(
          'Expected "action NAME" or "reject" to end the match',
          token.position,
        );
      }
      let negated = false;
      if (token.kind === "!") {
        this.#next();
        negated = true;
      }
      const word = this.#expectWord("a match criterion");
      if (word.value === "action" && !negated) {
        const action = this.#value("an action name");
        this.#matches.push({
          criteria,
          decision: { kind: "action", action: action.value, position: action.position },
          position: first.position,
        });
        return;
      }
      if (word.value === "reject" && !negated) {
        this.#matches.push({ criteria, decision: { kind: "reject" }, position: first.position });
        return;
      }
      criteria.push(this.#criterion(word, negated));
    }
  }

  // `! from src …` is the grammar; `from ! src …` (the legacy place) is accepted too.
  #negation(negated: boolean): boolean {
    if (this.#peek().kind !== "!") return negated;
    const bang = this.#next();
    if (negated) throw new StatementError("Negated twice", bang.position);
    return true;
  }

  #criterion(word: Token, initiallyNegated: boolean): Criterion {
    let negated = initiallyNegated;
    const position = word.position;
    const make = (kind: CriterionKind, table?: TableRef, regex?: boolean): Criterion => ({
      kind,
      negated,
      ...(table ? { table } : {}),
      ...(regex ? { regex } : {}),
      position,
    });
    const withTable = (kind: CriterionKind): Criterion => {
      const regex = this.#peekWord("regex");
      if (regex) this.#next();
      return make(kind, this.#tableArgument(), regex);
    };
    const optionalTable = (kind: CriterionKind): Criterion =>
      this.#startsTable() ? withTable(kind) : make(kind);
    switch (word.value) {
      case "from": {
        negated = this.#negation(negated);
        const what = this.#expectWord("what `from` matches");
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
            throw this.#unknown(what, [
              "any",
              "local",
              "socket",
              "src",
              "rdns",
              "auth",
              "mail-from",
            ]);
        }
      }
      case "for": {
        negated = this.#negation(negated);
        const what = this.#expectWord("what `for` matches");
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
            throw this.#unknown(what, ["any", "local", "domain", "rcpt-to"]);
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
        if (this.#startsTable() && this.#peek().kind !== "string") return withTable("tag");
        return { kind: "tag", negated, value: this.#value("a tag").value, position };
      }
      case "tls":
        return make("tls");
      default:
        throw this.#unknown(word, MATCH_WORDS);
    }
  }

  #queueOption(): void {
    const option = this.#expectWord("a queue option");
    switch (option.value) {
      case "path":
        this.#queue.path = this.#value("a directory").value;
        return;
      case "compression":
        this.#queue.compression = true;
        return;
      case "encryption": {
        const key = this.#atEnd() ? undefined : this.#value("a key").value;
        this.#queue.encryption = key === undefined ? {} : { key };
        return;
      }
      case "ttl": {
        const value = this.#value("a duration");
        const ttl = parseDuration(value.value);
        if (ttl === undefined) {
          throw new StatementError(`Bad duration "${value.value}"`, value.position);
        }
        this.#queue.ttl = ttl;
        return;
      }
      default:
        throw this.#unknown(option, ["path", "compression", "encryption", "ttl"]);
    }
  }

  #smtpOption(): void {
    const option = this.#expectWord("an smtp option");
    switch (option.value) {
      case "max-message-size": {
        const value = this.#value("a size");
        const size = parseSize(value.value);
        if (size === undefined) {
          throw new StatementError(`Bad size "${value.value}"`, value.position);
        }
        this.#smtp.maxMessageSize = size;
        return;
      }
      case "limit": {
        const key = this.#expectWord("a limit");
        if (key.value !== "max-rcpt" && key.value !== "max-mails") {
          throw this.#unknown(key, ["max-rcpt", "max-mails"]);
        }
        const value = this.#value("a number");
        if (!/^\d+$/.test(value.value) || Number(value.value) < 1) {
          throw new StatementError(`Bad number "${value.value}"`, value.position);
        }
        this.#smtp[key.value === "max-rcpt" ? "maxRcpt" : "maxMails"] = Number(value.value);
        return;
      }
      case "sub-addr-delim": {
        const value = this.#value("a character");
        if (!/^[\x21-\x3f\x41-\x7e]$/.test(value.value)) {
          throw new StatementError(
            `Bad sub-address delimiter "${value.value}": one printable character, not "@"`,
            value.position,
          );
        }
        this.#smtp.subAddrDelim = value.value;
        return;
      }
      default:
        throw this.#unknown(option, ["max-message-size", "limit", "sub-addr-delim"]);
    }
  }

  // Token helpers.

  #peek(): Token {
    this.#peeked ??= this.#lexer.next();
    return this.#peeked;
  }

  #next(): Token {
    const token = this.#peek();
    this.#peeked = undefined;
    return token;
  }

  #atEnd(): boolean {
    const kind = this.#peek().kind;
    return kind === "newline" || kind === "eof";
  }

  #peekWord(value: string): boolean {
    const token = this.#peek();
    return token.kind === "word" && token.value === value;
  }

  #expect(kind: TokenKind): Token {
    const token = this.#next();
    if (token.kind !== kind) throw this.#unexpected(token, `"${kind}"`);
    return token;
  }

  #expectWord(what: string): Token {
    const token = this.#next();
    if (token.kind !== "word") throw this.#unexpected(token, what);
    return token;
  }

  #expectKeyword(word: string): Token {
    const token = this.#next();
    if (token.kind !== "word" || token.value !== word) throw this.#unexpected(token, `"${word}"`);
    return token;
  }

  // A word or a quoted string.
  #value(what: string): Token {
    const token = this.#next();
    if (token.kind !== "word" && token.kind !== "string") throw this.#unexpected(token, what);
    return token;
  }

  #skipNewlines(): void {
    while (this.#peek().kind === "newline") this.#next();
  }

  #endOfStatement(): void {
    const token = this.#peek();
    if (token.kind === "newline" || token.kind === "eof") return;
    throw this.#unexpected(token, "the end of the line");
  }

  #skipLine(): void {
    let depth = 0;
    while (true) {
      const token = this.#next();
      if (token.kind === "eof") return;
      if (token.kind === "{") depth++;
      if (token.kind === "}") depth--;
      if (token.kind === "newline" && depth <= 0) return;
    }
  }

  #unexpected(token: Token, expected: string): StatementError {
    const found = token.kind === "newline"
      ? "the end of the line"
      : token.kind === "eof"
      ? "the end of the file"
      : `"${token.value}"`;
    return new StatementError(`Expected ${expected}, found ${found}`, token.position);
  }

  #unknown(token: Token, known: readonly string[]): StatementError {
    const near = suggest(token.value, known);
    const hint = near ? `: did you mean "${near}"?` : "";
    return new StatementError(`Unknown keyword "${token.value}"${hint}`, token.position);
  }

  #error(message: string, position: SourcePosition): void {
    this.#diagnostics.push({ severity: "error", message, position });
  }
}

const ACTION_OPTIONS = ["alias", "virtual", "userbase", "user", "ttl", "host"];
const MATCH_WORDS = [
  "from",
  "for",
  "auth",
  "helo",
  "mail-from",
  "rcpt-to",
  "tag",
  "tls",
  "action",
  "reject",
];
