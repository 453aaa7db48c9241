// The table fuzz targets: random and mutated table files for every backend, loaded as the
// daemon loads them. Loading either succeeds or refuses with a TableLoadError that names
// the table and the file (and the line, for line-based formats); nothing else may escape.

import {
  openTable,
  parseAliases,
  type Table,
  TableLoadError,
  type TableService,
  writeDbTable,
} from "../../src/tables/mod.ts";
import type { TableDecl } from "../../src/config/mod.ts";
import { fuzz, type FuzzReport, type Random } from "./_harness.ts";
import {
  FILE_PIECES,
  maybeMutate,
  mutateBytes,
  randomText,
  REGEX_PIECES,
  regexText,
  sqliteConfigText,
  WORDS,
  yamlText,
} from "./_table_inputs.ts";

/** The formats fuzzed, one target each. */
export const TABLE_FORMATS = [
  "file",
  "file-regex",
  "yaml",
  "yaml-regex",
  "sqlite",
  "db",
  "db-regex",
  "inline-regex",
  "aliases",
] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** A case slower than this counts as a hang: loading a small file never takes this long. */
export const HANG_MS = 2_000;

const SERVICES: readonly TableService[] = [
  "alias",
  "domain",
  "credentials",
  "netaddr",
  "userinfo",
  "source",
  "mailaddr",
  "mailaddrmap",
  "addrname",
  "relayhost",
  "string",
];

/** A scratch directory with the fixed inputs cases mutate (valid db files). */
export interface TableFuzzWorkspace extends AsyncDisposable {
  readonly dir: string;
  /** Valid makemap-written db files, as bytes, for mutation. */
  readonly dbSeeds: readonly Uint8Array[];
}

/** Creates the scratch directory and the seed db files. */
export async function openWorkspace(): Promise<TableFuzzWorkspace> {
  const dir = await Deno.makeTempDir({ prefix: "fuzz-tables-" });
  const dbSeeds: Uint8Array[] = [];
  const seedEntries: (readonly [string, string])[][] = [
    [["root", "gilles"], ["*.example.org", "x"], ["192.0.2.0/24", "n"]],
    [["^a.*@", "^a.*@"], ["(?i)bob", "(?i)bob"]],
    Array.from({ length: 300 }, (_, i) => [`user${i}@example.org`, `v${i}`] as const),
  ];
  for (const [i, entries] of seedEntries.entries()) {
    const path = `${dir}/seed${i}.db`;
    await writeDbTable(path, { shape: i === 1 ? "list" : "map", entries });
    dbSeeds.push(await Deno.readFile(path));
  }
  await writeDbTable(`${dir}/valid.db`, { shape: "map", entries: seedEntries[0]! });
  return {
    dir,
    dbSeeds,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Runs one format's target for `cases` cases. */
export function fuzzTableFormat(
  format: TableFormat,
  workspace: TableFuzzWorkspace,
  options: { readonly seed?: number; readonly cases: number; readonly maxFailures?: number },
): Promise<FuzzReport> {
  return fuzz(`tables/${format}`, options, async (random) => {
    const started = performance.now();
    await runCase(format, workspace, random);
    const took = performance.now() - started;
    if (took > HANG_MS) throw new Error(`hang: the case took ${Math.round(took)} ms`);
  });
}

async function runCase(format: TableFormat, ws: TableFuzzWorkspace, random: Random) {
  if (format === "aliases") return checkAliases(randomText(random, FILE_PIECES, WORDS, 40));
  if (format === "inline-regex") {
    const values = Array.from({ length: 1 + random.int(4) }, () => regexText(random));
    const decl: TableDecl = {
      name: "inline",
      source: { kind: "list", values },
      anonymous: true,
      position: { file: `${ws.dir}/smtpd.conf`, line: 7, column: 3 },
    };
    return await checkLoad(decl, ws.dir, { regex: true, file: `${ws.dir}/smtpd.conf` });
  }
  const [backend, regex] = format.endsWith("-regex")
    ? [format.slice(0, -"-regex".length), true]
    : [format, false];
  const path = `${ws.dir}/case.${backend}`;
  await Deno.writeFile(path, contentFor(backend, ws, random, regex));
  const decl: TableDecl = {
    name: "fuzzed",
    source: { kind: "backend", backend, config: path },
    anonymous: false,
    position: { file: `${ws.dir}/smtpd.conf`, line: 1, column: 1 },
  };
  await checkLoad(decl, ws.dir, { regex, file: path, lineBased: backend !== "db" });
}

function contentFor(backend: string, ws: TableFuzzWorkspace, random: Random, regex: boolean) {
  const encode = (text: string) => new TextEncoder().encode(text);
  switch (backend) {
    case "file": {
      const text = regex
        ? Array.from({ length: 1 + random.int(6) }, () => regexText(random)).join("\n")
        : randomText(random, FILE_PIECES, WORDS, 40);
      return maybeMutate(random, encode(text));
    }
    case "yaml": {
      const words = regex ? REGEX_PIECES.map((p) => JSON.stringify(p)) : WORDS;
      return maybeMutate(random, encode(yamlText(random, words)));
    }
    case "sqlite":
      return maybeMutate(random, encode(sqliteConfigText(random, ws.dir)));
    default: {
      // A db: a valid file mutated, cut short or grown, or noise.
      if (random.chance(0.05)) return random.bytes(random.int(4096));
      return mutateBytes(random, random.pick(ws.dbSeeds), 1 + random.int(8));
    }
  }
}

// The property: a table, or a TableLoadError naming this table and file (with a line
// inside the file for line-based formats, except refusals about the file as a whole).
async function checkLoad(
  decl: TableDecl,
  baseDir: string,
  expect: { regex: boolean; file: string; lineBased?: boolean },
): Promise<void> {
  let table: Table;
  try {
    table = await openTable(decl, baseDir, { regex: expect.regex });
  } catch (error) {
    if (!(error instanceof TableLoadError)) {
      throw new Error(`loading threw ${describe(error)}, not a TableLoadError`, { cause: error });
    }
    if (error.table !== decl.name || error.file !== expect.file) {
      throw new Error(`the refusal names the wrong table or file: ${error.message}`);
    }
    if (!error.message.startsWith(`Cannot load table "${decl.name}" from "${expect.file}"`)) {
      throw new Error(`the refusal does not say where: ${error.message}`);
    }
    if (expect.lineBased && error.line === undefined && !WHOLE_FILE_REASONS.test(error.reason)) {
      throw new Error(`the refusal of a line-based format has no line: ${error.message}`);
    }
    if (error.line !== undefined && expect.lineBased) await checkLineInFile(error, expect.file);
    return;
  }
  try {
    exerciseTable(table, decl.source.kind === "backend" ? decl.source.backend : "inline");
  } finally {
    table.close?.();
  }
}

// Refusals about a whole file rather than a line of it.
const WHOLE_FILE_REASONS = /^no "dbpath" is given$|^a regex table must list its patterns/;

async function checkLineInFile(error: TableLoadError, file: string): Promise<void> {
  const text = new TextDecoder().decode(await Deno.readFile(file));
  const lines = text.split("\n").length;
  if (error.line! < 1 || error.line! > lines) {
    throw new Error(`line ${error.line} is outside the file's ${lines} lines: ${error.message}`);
  }
}

// A loaded table answers every service without throwing (sqlite only for the services it
// has queries for: its lookups run the operator's SQL, which the fuzzer does not judge).
// A db damaged in a way PRAGMA quick_check does not see may still fail a lookup with an
// SQLite error: the rules answer that with a tempfail (4xx), so it is allowed here.
function exerciseTable(table: Table, backend: string): void {
  const keys = ["root", "bob@example.org", "a.example.org", "192.0.2.7", "::1", "", "x".repeat(9)];
  if (backend === "sqlite") return;
  try {
    const listed = [...table.keys()].slice(0, 5);
    for (const service of SERVICES) {
      for (const key of [...keys, ...listed]) {
        table.match(service, key);
        table.lookup(service, key);
      }
    }
  } catch (error) {
    if (backend === "db" && (error as { code?: string }).code === "ERR_SQLITE_ERROR") return;
    throw error;
  }
}

function checkAliases(text: string): void {
  let parsed;
  try {
    parsed = parseAliases(text);
  } catch (error) {
    throw new Error(`parseAliases() threw ${describe(error)}`, { cause: error });
  }
  const lines = text.split("\n").length;
  for (const e of parsed.errors) {
    if (e.line < 1 || e.line > lines) throw new Error(`alias error on line ${e.line} of ${lines}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
