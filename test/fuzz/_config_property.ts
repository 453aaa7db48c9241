// The property every configuration case must hold: parsing never throws, every diagnostic
// has a position, and an accepted file prints to text that parses to the same model (and
// prints the same again).

import { type Config, type Diagnostic, parseConfig, printConfig } from "../../src/config/mod.ts";

/**
 * Checks the property on one text: throws (with the text) when parsing throws, a
 * diagnostic lacks a position, or an accepted file does not survive print and parse.
 */
export function checkConfigText(
  text: string,
  options: { file?: string; readFile?: (path: string) => string } = {},
): void {
  const fail = (why: string, extra = "") => {
    throw new Error(`${why}\n--- input ---\n${text}\n${extra}`);
  };
  let parsed: { config?: Config; diagnostics: Diagnostic[] };
  try {
    parsed = parseConfig(text, {
      file: options.file ?? "fuzz.conf",
      readFile: options.readFile ?? includeRefused,
    });
  } catch (error) {
    return fail(`parseConfig() threw: ${error instanceof Error ? error.stack : error}`);
  }
  for (const d of parsed.diagnostics) {
    const p = d.position;
    if (!(p.line >= 1 && p.column >= 1 && typeof p.file === "string" && d.message !== "")) {
      fail(`diagnostic without a position: ${JSON.stringify(d)}`);
    }
  }
  if (!parsed.config) return;
  const printed = printConfig(parsed.config);
  const again = parseConfig(printed, { file: "printed.conf" });
  if (!again.config) {
    const errors = again.diagnostics.filter((d) => d.severity === "error")
      .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
    fail("printed text is refused", `--- printed ---\n${printed}\n${errors.join("\n")}`);
  }
  const want = canonicalModel(parsed.config), got = canonicalModel(again.config!);
  if (want !== got) {
    fail("printed text means something else", `--- printed ---\n${printed}\n${want}\n${got}`);
  }
  if (printConfig(again.config!) !== printed) fail("printing is not stable", printed);
}

function includeRefused(path: string): string {
  throw new Error(`no file ${path} here`);
}

/**
 * The model as JSON, without what printing cannot keep: positions, macros, the grammar
 * the file used, the generated names of inline tables (replaced by their contents), and
 * how many times a statement without effect was written (a global such as `mta
 * max-deferred` given twice keeps its last value and prints once, in the printout's order).
 */
export function canonicalModel(config: Config): string {
  const inline = new Map(
    config.tables.filter((t) => t.anonymous).map((t) => [t.name, t.source] as const),
  );
  const { file: _f, macros: _m, grammar: _g, ignored, ...rest } = config;
  const ignoredOnce = ignored === undefined
    ? {}
    : { ignored: [...new Set(ignored.map((i) => i.what))].sort().map((what) => ({ what })) };
  return JSON.stringify(
    { ...rest, ...ignoredOnce, tables: config.tables.filter((t) => !t.anonymous) },
    (key, v) => {
      if (key === "position" || key === "positions" || key === "addressPosition") return undefined;
      if (v instanceof Map) return [...v];
      if (v && typeof v === "object" && "name" in v && "position" in v && inline.has(v.name)) {
        return { inline: inline.get(v.name) };
      }
      // Key order is not meaning: sort it.
      if (v && typeof v === "object" && !Array.isArray(v)) {
        return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : 1));
      }
      return v;
    },
  );
}
