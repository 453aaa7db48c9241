// `filter NAME …` (smtpd.conf(5) FILTERS): proc-exec and proc filters, chains, and the
// builtin `phase … match … DECISION` filters, parsed into the model the filter runtime uses.

import type { Token } from "./lexer.ts";
import { type ConfigBuilder, parseTableArgument, startsTable } from "./builder.ts";
import type { BuiltinConditionDecl, FilterDecl, FilterSpec, TableDecl } from "./model.ts";
import { printTableRef } from "./print.ts";
import { printWord, quoteString } from "./lexer.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseProcOptions } from "./parse_globals.ts";
import { MAIL_AUTH_KINDS, parseMailAuthSpec, printMailAuthSpec } from "./parse_mail_auth.ts";

const KINDS = ["proc", "proc-exec", "chain", "phase", ...MAIL_AUTH_KINDS];
const PHASES = ["connect", "helo", "ehlo", "mail-from", "rcpt-to", "data", "commit"];
const CONDITIONS = ["fcrdns", "rdns", "src", "helo", "auth", "mail-from", "rcpt-to"];
const DECISIONS = ["junk", "bypass", "reject", "disconnect", "rewrite", "report"];
// Phases where the value a condition tests does not exist yet (smtpd.conf(5)).
const NOT_YET: Record<string, readonly string[]> = {
  connect: ["helo", "auth", "mail-from", "rcpt-to"],
  helo: ["mail-from", "rcpt-to"],
  ehlo: ["mail-from", "rcpt-to"],
  "mail-from": ["rcpt-to"],
};

/** `filter NAME proc P | proc-exec "CMD" … | chain { … } | phase P match … DECISION`. */
export function parseFilter(stream: TokenStream, builder: ConfigBuilder): void {
  const name = stream.value("a filter name");
  const kind = stream.expectWord("proc, proc-exec, chain, phase, dkim-sign or auth-verify");
  if (!KINDS.includes(kind.value)) throw stream.unknown(kind, KINDS, "filter kind");
  const start = stream.peek();
  // `auth-verify` alone is complete: its options have defaults.
  if (kind.value !== "auth-verify" && (start.kind === "newline" || start.kind === "eof")) {
    throw stream.unexpected(start, `the ${kind.value} arguments`);
  }
  const spec = parseSpec(stream, builder, kind);
  builder.filters.push({
    name: name.value,
    kind: kind.value as FilterDecl["kind"],
    words: printSpec(spec, new Map(builder.tables.map((t) => [t.name, t] as const))),
    spec,
    position: name.position,
  });
}

function parseSpec(stream: TokenStream, builder: ConfigBuilder, kind: Token): FilterSpec {
  switch (kind.value) {
    case "proc":
      return { kind: "proc", proc: stream.value("a proc name").value };
    case "proc-exec": {
      const command = stream.value("a command").value;
      const spec: { kind: "proc-exec"; command: string; user?: string; group?: string } = {
        kind: "proc-exec",
        command,
      };
      return { ...spec, ...parseProcOptions(stream) };
    }
    case "chain":
      return { kind: "chain", filters: parseNameList(stream) };
    case "dkim-sign":
    case "auth-verify":
      return parseMailAuthSpec(stream, kind.value);
    default:
      return parseBuiltin(stream, builder);
  }
}

function parseNameList(stream: TokenStream): string[] {
  stream.expect("{");
  const names: string[] = [];
  while (true) {
    stream.skipNewlines();
    if (stream.accept("}") || stream.peek().kind === "}") {
      if (stream.peek().kind === "}") stream.next();
      break;
    }
    names.push(stream.value("a filter name").value);
    stream.skipNewlines();
    if (stream.peek().kind === ",") stream.next();
  }
  if (names.length === 0) throw new StatementError("An empty chain", stream.peek().position);
  return names;
}

function parseBuiltin(stream: TokenStream, builder: ConfigBuilder): FilterSpec {
  const phase = stream.expectWord("a phase");
  if (!PHASES.includes(phase.value)) throw stream.unknown(phase, PHASES, "phase");
  stream.expectKeyword("match");
  const conditions: BuiltinConditionDecl[] = [];
  while (true) {
    const negated = stream.peek().kind === "!";
    if (negated) stream.next();
    const word = stream.expectWord("a condition or a decision");
    if (!negated && DECISIONS.includes(word.value)) {
      if (conditions.length === 0) {
        throw new StatementError("A builtin filter needs at least one condition", word.position);
      }
      return {
        kind: "phase",
        phase: phase.value as BuiltinPhaseName,
        conditions,
        decision: parseDecision(stream, word),
      };
    }
    if (!CONDITIONS.includes(word.value)) {
      throw stream.unknown(word, [...CONDITIONS, ...DECISIONS], "condition or decision");
    }
    if (NOT_YET[phase.value]?.includes(word.value)) {
      throw new StatementError(
        `"${word.value}" is not known yet at phase ${phase.value}`,
        word.position,
      );
    }
    const regex = stream.accept("regex");
    const needsTable = regex || !["fcrdns", "rdns", "auth"].includes(word.value);
    const table = word.value === "fcrdns"
      ? undefined
      : needsTable || startsTable(stream)
      ? parseTableArgument(stream, builder)
      : undefined;
    conditions.push({
      kind: word.value as BuiltinConditionDecl["kind"],
      negated,
      regex,
      ...(table ? { table } : {}),
      position: word.position,
    });
  }
}

type BuiltinPhaseName = Extract<FilterSpec, { kind: "phase" }>["phase"];

function parseDecision(
  stream: TokenStream,
  word: Token,
): Extract<FilterSpec, { kind: "phase" }>["decision"] {
  switch (word.value) {
    case "junk":
    case "bypass":
      return { kind: word.value };
    case "reject":
    case "disconnect": {
      const reply = stream.value('a reply such as "550 text"');
      if (!/^[45]\d\d( |$)/.test(reply.value)) {
        throw new StatementError(
          `Bad reply "${reply.value}": a 4xx or 5xx code, then the text`,
          reply.position,
        );
      }
      return { kind: word.value, reply: reply.value };
    }
    default:
      return {
        kind: word.value as "rewrite" | "report",
        value: stream.value(`the ${word.value} value`).value,
      };
  }
}

/** The words after the kind, as `smtpd -nv` prints them. */
function printSpec(spec: FilterSpec, tables: ReadonlyMap<string, TableDecl>): string[] {
  switch (spec.kind) {
    case "proc":
      return [printWord(spec.proc)];
    case "proc-exec":
      return [
        quoteString(spec.command),
        ...(spec.user === undefined ? [] : ["user", printWord(spec.user)]),
        ...(spec.group === undefined ? [] : ["group", printWord(spec.group)]),
      ];
    case "chain":
      return ["{", spec.filters.map(printWord).join(", "), "}"];
    case "dkim-sign":
    case "auth-verify":
      return printMailAuthSpec(spec);
    case "phase": {
      const words = [spec.phase, "match"];
      for (const c of spec.conditions) {
        words.push(`${c.negated ? "!" : ""}${c.kind}`);
        if (c.regex) words.push("regex");
        // An inline table prints its values, in braces: a bare word there is no table.
        if (c.table) words.push(printTableRef(c.table, tables, true));
      }
      const d = spec.decision;
      words.push(d.kind);
      if ("reply" in d) words.push(quoteString(d.reply));
      if ("value" in d) words.push(quoteString(d.value));
      return words;
    }
  }
}
