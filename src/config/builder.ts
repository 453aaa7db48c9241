// The model under construction while statements are parsed, and the pieces of syntax
// several statements share: table arguments (`<name>`, `"value"`, `{ … }`), durations.

import type { SourcePosition } from "./errors.ts";
import {
  type Action,
  type CaDecl,
  type Config,
  type FilterDecl,
  type IgnoredStatement,
  type Listener,
  type Match,
  type PkiDecl,
  type ProcDecl,
  type TableDecl,
  type TableRef,
} from "./model.ts";
import { DEFAULT_SMTP_LIMITS, DEFAULTS } from "./defaults.ts";
import type { MtaLimits } from "./model_mta.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseDuration, parseWholeNumber } from "./units.ts";
import { FALLBACK_SERVICES } from "./services.ts";

/** A writable view of a model type. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Everything parsed so far. */
export class ConfigBuilder {
  readonly file: string;
  readonly macros: Map<string, string>;
  readonly tables: TableDecl[] = [];
  readonly pkis: Mutable<PkiDecl>[] = [];
  readonly cas: CaDecl[] = [];
  readonly listeners: Listener[] = [];
  readonly actions: Action[] = [];
  readonly matches: Match[] = [];
  readonly filters: FilterDecl[] = [];
  readonly procs: ProcDecl[] = [];
  readonly ignored: IgnoredStatement[] = [];
  readonly mdaWrappers = new Map<string, string>();
  /** The port names `listen on … port NAME` knows (services(5)). */
  services: ReadonlyMap<string, number> = FALLBACK_SERVICES;
  /** Actions whose statement was refused: a match naming one is not reported again. */
  readonly refusedActions = new Set<string>();
  queue: Mutable<Config["queue"]> = { compression: false, ttl: DEFAULTS.queueTtl };
  smtp: Mutable<Config["smtp"]> = {
    maxMessageSize: DEFAULT_SMTP_LIMITS.maxMessageSize,
    maxRcpt: DEFAULT_SMTP_LIMITS.maxRcpt,
    maxMails: DEFAULT_SMTP_LIMITS.maxMails,
    subAddrDelim: DEFAULTS.subAddrDelim,
  };
  bounceWarnIntervals: number[] = [DEFAULTS.bounceWarnInterval];
  mtaMaxDeferred: number | undefined;
  /** `mta limit` / `mta rate` statements, kept when any was written. */
  readonly mtaLimits = {
    default: {} as Mutable<MtaLimits>,
    domains: new Map<string, Mutable<MtaLimits>>(),
  };
  mtaLimitsUsed = false;
  srs: Mutable<NonNullable<Config["srs"]>> | undefined;
  admd: string | undefined;
  metrics: Config["metrics"];
  logFormat: Config["logFormat"];
  control: Config["control"];
  /** The first rule line of each grammar, to refuse a file that mixes them. */
  firstModernRule: SourcePosition | undefined;
  firstLegacyRule: SourcePosition | undefined;
  /** Every table name taken, declared or inline. */
  #tableNames = new Set<string>();
  #actionNames = new Set<string>();
  #pkis = new Map<string, Mutable<PkiDecl>>();
  #caNames = new Set<string>();
  /** Legacy rules that deliver alike share an action: its name by what it does. */
  readonly sharedActions = new Map<string, string>();
  /** The next number to try when naming a shared action after its method. */
  readonly sharedActionNumbers = new Map<string, number>();

  constructor(file: string, macros: Map<string, string>) {
    this.file = file;
    this.macros = macros;
  }

  /** The finished model. */
  build(): Config {
    return {
      file: this.file,
      macros: this.macros,
      tables: this.tables,
      pkis: this.pkis,
      cas: this.cas,
      listeners: this.listeners,
      actions: this.actions,
      matches: this.matches,
      queue: this.queue,
      smtp: this.smtp,
      bounceWarnIntervals: this.bounceWarnIntervals,
      ...(this.mtaMaxDeferred === undefined ? {} : { mtaMaxDeferred: this.mtaMaxDeferred }),
      ...(this.mtaLimitsUsed ? { mtaLimits: this.mtaLimits } : {}),
      ...(this.srs === undefined ? {} : { srs: this.srs }),
      mdaWrappers: this.mdaWrappers,
      filters: this.filters,
      procs: this.procs,
      ...(this.ignored.length === 0 ? {} : { ignored: this.ignored }),
      ...(this.refusedActions.size === 0 ? {} : { refusedActions: [...this.refusedActions] }),
      ...(this.admd === undefined ? {} : { admd: this.admd }),
      grammar: this.firstLegacyRule ? "legacy" : "modern",
      ...(this.metrics === undefined ? {} : { metrics: this.metrics }),
      ...(this.logFormat === undefined ? {} : { logFormat: this.logFormat }),
      ...(this.control === undefined ? {} : { control: this.control }),
    };
  }

  /** True when an action of that name is declared. */
  hasAction(name: string): boolean {
    return this.#actionNames.has(name);
  }

  /** Adds an action (its name checked by the caller). */
  addAction(action: Action): void {
    this.#actionNames.add(action.name);
    this.actions.push(action);
  }

  /** The pki of that name, declared now if it is new. */
  pki(name: string, position: SourcePosition): Mutable<PkiDecl> {
    let pki = this.#pkis.get(name);
    if (!pki) {
      pki = { name, position };
      this.#pkis.set(name, pki);
      this.pkis.push(pki);
    }
    return pki;
  }

  /** Declares a CA, refusing a second one of the same name. */
  declareCa(decl: CaDecl): void {
    if (this.#caNames.has(decl.name)) {
      throw new StatementError(`CA "${decl.name}" is already declared`, decl.position);
    }
    this.#caNames.add(decl.name);
    this.cas.push(decl);
  }

  /** Declares a named table, refusing a second one of the same name. */
  declareTable(decl: TableDecl): void {
    if (this.#tableNames.has(decl.name)) {
      throw new StatementError(`Table "${decl.name}" is already declared`, decl.position);
    }
    this.#tableNames.add(decl.name);
    this.tables.push(decl);
  }

  /**
   * A name no declaration can take, for an inline table written at `position` (a file
   * included twice writes two tables at one position: the second gets a number).
   */
  inlineTableName(position: SourcePosition): string {
    const at = `inline:${position.file}:${position.line}:${position.column}`;
    let name = `<${at}>`;
    for (let n = 2; this.#tableNames.has(name); n++) name = `<${at}#${n}>`;
    this.#tableNames.add(name);
    return name;
  }
}

/** True when the next tokens start a table argument. */
export function startsTable(stream: TokenStream): boolean {
  const kind = stream.peek().kind;
  return kind === "<" || kind === "{" || kind === "string";
}

/** `<name>`, or an inline table (`"value"`, a bare word, `{ … }`) declared anonymously. */
export function parseTableArgument(stream: TokenStream, builder: ConfigBuilder): TableRef {
  const token = stream.peek();
  if (token.kind === "<") {
    stream.next();
    const name = stream.value("a table name");
    stream.expect(">");
    return { name: name.value, position: name.position };
  }
  const name = builder.inlineTableName(token.position);
  if (token.kind === "{") {
    builder.tables.push(parseInlineTable(stream, name, true, token.position));
  } else {
    const value = stream.value("a table");
    builder.tables.push({
      name,
      source: { kind: "list", values: [value.value] },
      anonymous: true,
      position: value.position,
    });
  }
  return { name, position: token.position };
}

/** `{ a, b }` or `{ k = v, k2 => v2 }`, entries possibly on several lines. */
export function parseInlineTable(
  stream: TokenStream,
  name: string,
  anonymous: boolean,
  position: SourcePosition,
): TableDecl {
  stream.expect("{");
  const values: string[] = [];
  const positions: SourcePosition[] = [];
  const entries: [string, string][] = [];
  while (true) {
    stream.skipNewlines();
    const token = stream.next();
    if (token.kind === "}") break;
    if (token.kind === ",") continue;
    if (token.kind !== "word" && token.kind !== "string") {
      throw stream.unexpected(token, 'a table entry or "}"');
    }
    if (stream.peek().kind === "=") {
      stream.next();
      entries.push([token.value, stream.value("a value").value]);
    } else {
      values.push(token.value);
      positions.push(token.position);
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
    : { kind: "list" as const, values, positions };
  return { name, source, anonymous, position };
}

/** A duration (`30s`, `4h`, `4d`), in seconds. */
export function parseDurationToken(stream: TokenStream): number {
  const value = stream.value("a duration");
  const seconds = parseDuration(value.value);
  if (seconds === undefined) {
    throw new StatementError(
      `Bad duration "${value.value}": expected a number with s, m, h or d`,
      value.position,
    );
  }
  return seconds;
}

/** A positive whole number. */
export function parseCount(stream: TokenStream, what: string): number {
  const value = stream.value(what);
  const n = parseWholeNumber(value.value);
  if (n === undefined || n < 1) {
    throw new StatementError(`Bad ${what} "${value.value}"`, value.position);
  }
  return n;
}
