// Reading configuration files: parse, validate, and report every diagnostic with the
// text it refers to, so the caller can show the line and a caret.

import { ConfigError, type Diagnostic, formatDiagnosticLine } from "./errors.ts";
import type { Config } from "./model.ts";
import { parseTokens } from "./parser.ts";
import { validateConfig } from "./validate.ts";
import { readSystemServices } from "./services.ts";
import { errorMessage } from "../mail/mod.ts";

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** The name used in positions. */
  readonly file: string;
  /** Macros defined from outside (`smtpd -D name=value`); they override the file's. */
  readonly defines?: Readonly<Record<string, string>>;
  /** Reads included files; without it `include` is an error. */
  readonly readFile?: (path: string) => string;
  /** Receives the text of every file read, by name. */
  readonly sources?: Map<string, string>;
  /** TCP port names (services(5)); the mail ports' usual names without it. */
  readonly services?: ReadonlyMap<string, number>;
}

/** Parses and validates configuration text; `config` is present only without errors. */
export function parseConfig(
  text: string,
  options: ParseConfigOptions,
): { config?: Config; partial: Config; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const config = parseTokens(text, options, diagnostics, options.sources);
  validateConfig(config, diagnostics);
  diagnostics.sort((a, b) =>
    a.position.line - b.position.line || a.position.column - b.position.column
  );
  const failed = diagnostics.some((d) => d.severity === "error");
  return failed ? { partial: config, diagnostics } : { config, partial: config, diagnostics };
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Macros defined from outside (`smtpd -D name=value`); they override the file's. */
  readonly defines?: Readonly<Record<string, string>>;
}

/** A loaded configuration with its warnings and the text of each file read. */
export interface LoadedConfig {
  readonly config: Config;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
}

/** Reads and checks a file; throws a {@link ConfigError} carrying every error. */
export async function loadConfigWithDiagnostics(
  path: string,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = errorMessage(error);
    throw new Error(`Cannot read configuration "${path}": ${why}`);
  }
  const sources = new Map<string, string>();
  const { config, partial, diagnostics } = parseConfig(text, {
    file: path,
    sources,
    readFile: (included) => Deno.readTextFileSync(included),
    services: readSystemServices(),
    ...(options.defines ? { defines: options.defines } : {}),
  });
  if (!config) throw new ConfigError(diagnostics, sources, partial);
  return { config, diagnostics, sources };
}

/** Reads and checks a file; throws a {@link ConfigError} on errors, ignores warnings. */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<Config> {
  return (await loadConfigWithDiagnostics(path, options)).config;
}

/** `FILE:LINE:COLUMN: message`, the line itself, and a caret under the column. */
export function formatDiagnostic(d: Diagnostic, source: string): string {
  const head = formatDiagnosticLine(d);
  const line = sourceLine(source, d.position.line);
  if (line === undefined) return head;
  let text = line.replace(/\r$/, "");
  let column = d.position.column;
  // A long line is shown as a window around the column, not whole.
  if (text.length > SHOWN_LINE_LENGTH) {
    const start = Math.max(0, Math.min(column - 1 - SHOWN_LINE_LENGTH / 2, text.length));
    text = text.slice(start, start + SHOWN_LINE_LENGTH);
    column -= start;
  }
  const pad = text.slice(0, column - 1).replace(/[^\t]/g, " ");
  return `${head}\n${text}\n${pad}^`;
}

const SHOWN_LINE_LENGTH = 160;

// Line N of a source (1-based). The line starts of the last source are kept, so
// formatting every diagnostic of a large file stays linear.
let indexed: { source: string; starts: number[] } | undefined;
function sourceLine(source: string, n: number): string | undefined {
  if (indexed?.source !== source) {
    const starts = [0];
    for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) {
      starts.push(i + 1);
    }
    indexed = { source, starts };
  }
  const start = indexed.starts[n - 1];
  if (start === undefined) return undefined;
  const next = indexed.starts[n];
  return source.slice(start, next === undefined ? source.length : next - 1);
}
