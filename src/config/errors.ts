// Positions and diagnostics of the configuration language: every token, node and
// message carries where it came from, so a check names FILE:LINE:COLUMN.

import type { Config } from "./model.ts";

/** A place in a configuration file; line and column are 1-based. */
export interface SourcePosition {
  /** The file's name as it was given. */
  readonly file: string;
  /** The line, from 1. */
  readonly line: number;
  /** The column, from 1. */
  readonly column: number;
}

/** How bad a diagnostic is: errors reject the file, warnings only inform. */
export type Severity = "error" | "warning";

/** One problem found in a configuration, with where it is. */
export interface Diagnostic {
  /** Whether it rejects the file. */
  readonly severity: Severity;
  /** What is wrong, in a sentence. */
  readonly message: string;
  /** Where it is. */
  readonly position: SourcePosition;
}

/** Thrown when a configuration has errors; carries all of them, in file order. */
export class ConfigError extends Error {
  /** Every diagnostic of the files read, errors and warnings, in file order. */
  readonly diagnostics: readonly Diagnostic[];
  /** The text of each file read, by name, to show the offending lines. */
  readonly sources?: ReadonlyMap<string, string>;
  /**
   * What the statements that did parse make, errors left out: good enough to find the
   * running daemon's socket (`queue path`, `control socket`), never to run on.
   */
  readonly partial?: Config;
  /** An error whose message is every diagnostic, one `FILE:LINE:COLUMN: message` a line. */
  constructor(
    diagnostics: readonly Diagnostic[],
    sources?: ReadonlyMap<string, string>,
    partial?: Config,
  ) {
    super(diagnostics.map(formatDiagnosticLine).join("\n"));
    this.name = "ConfigError";
    this.diagnostics = diagnostics;
    if (sources) this.sources = sources;
    if (partial) this.partial = partial;
  }
}

/** `FILE:LINE:COLUMN`, as every message about a place in the configuration names it. */
export function formatPosition(p: SourcePosition): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/** `FILE:LINE:COLUMN: message` (warnings say so after the position). */
export function formatDiagnosticLine(d: Diagnostic): string {
  const where = formatPosition(d.position);
  return d.severity === "warning" ? `${where}: warning: ${d.message}` : `${where}: ${d.message}`;
}

/** Abandons the current statement; the parser reports it and resumes at the next line. */
export class StatementError extends Error {
  readonly position: SourcePosition;
  constructor(message: string, position: SourcePosition) {
    super(message);
    this.position = position;
  }
}
