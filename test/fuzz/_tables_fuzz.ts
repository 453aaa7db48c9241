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

const WORDS = [
  "root",
  "gilles",
  "example.org",
  "*.example.org",
  "*",
  "@example.net",
  "user+tag@example.com",
  "192.0.2.1",
  "192.0.2.0/24",
  "10.0.0.0/8",
  "::1",
  "[2001:db8::1]",
  "2001:db8::/32",
  "0.0.0.0/0",
  "bob:$2b$08$abcdefghijklmnopqrstuv",
  "1000:1000:/home/u",
  "smtp+tls://relay.example.org:587",
  "a, b, c",
  '"quoted, value"',
  "é",
  "\u{1f600}",
  "",
];

const REGEX_PIECES = [
  "^",
  "$",
  ".",
  "*",
  "+",
  "?",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "{2,3}",
  "|",
  "\\",
  "\\d",
  "\\w+",
  "\\1",
  "(?i)",
  "(?:",
  "(?<n>",
  "(?=",
  "[a-z]",
  "[z-a]",
  "[^@]",
  "@",
  "example\\.org",
  "\\u{1F600}",
  "\\p{L}",
  "a",
  "bob",
];

const FILE_PIECES = [" ", "  ", "\t", ":", ",", ", ", "#", "# @list", "\\", "\n", "\r\n"];

const YAML_PIECES = [
  "- ",
  ": ",
  "? ",
  "&a ",
  "*a",
  "*zz",
  "!tag ",
  "!!str ",
  "!!int ",
  "!!binary ",
  "[",
  "]",
  "{",
  "}",
  ", ",
  "'",
  '"',
  "|",
  ">-",
  "---",
  "...",
  "#",
  "%YAML 1.2\n",
  "%TAG ! tag:x:\n",
  "\t",
  "\n",
  "  ",
  "    ",
  "~",
  "null",
  "true",
  "0x1F",
  "1e400",
  "-.inf",
  "<<: *a",
  "\\u0000",
];

const SQL_KEYS = [
  "dbpath",
  "query_alias",
  "query_domain",
  "query_credentials",
  "query_netaddr",
  "query_userinfo",
  "query_source",
  "query_mailaddr",
  "query_mailaddrmap",
  "query_addrname",
  "fetch_source",
  "query_relayhost",
  "nonsense",
];

const SQL_QUERIES = [
  "SELECT value FROM entries WHERE key = ?",
  "SELECT key FROM entries WHERE key = ? LIMIT 1",
  "SELECT key, value FROM entries WHERE lkey = ?",
  "SELECT 1",
  "SELECT ?1, ?2",
  "SELECT x FROM nope WHERE y = ?",
  "DELETE FROM entries WHERE key = ?",
  "PRAGMA user_version",
  "SELECT value FROM entries WHERE key = ?; DROP TABLE entries",
  "SELECT",
  "",
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
      return maybeMutate(random, encode(sqliteConfigText(random, ws)));
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

// Text from pieces and words, as a line-based table might hold.
function randomText(
  random: Random,
  pieces: readonly string[],
  words: readonly string[],
  max: number,
): string {
  let text = "";
  const n = random.int(max);
  for (let i = 0; i < n; i++) {
    const r = random.next();
    if (r < 0.45) text += random.pick(words);
    else if (r < 0.9) text += random.pick(pieces);
    else text += String.fromCharCode(random.int(0x80));
  }
  return text;
}

function regexText(random: Random): string {
  let text = "";
  const n = 1 + random.int(8);
  for (let i = 0; i < n; i++) text += random.pick(REGEX_PIECES);
  return text;
}

function yamlText(random: Random, words: readonly string[]): string {
  const r = random.next();
  if (r < 0.05) return random.pick(["[", "{", "- [", "? "]).repeat(random.int(20_000));
  if (r < 0.1) return "- ".repeat(random.int(12_000)) + "x";
  if (r < 0.4) {
    // A well-formed skeleton: a list or a map of scalars and lists.
    const list = random.chance(0.5);
    const lines: string[] = [];
    for (let i = random.int(12); i > 0; i--) {
      const value = random.chance(0.2)
        ? `[${random.pick(words)}, ${random.pick(words)}]`
        : random.pick(words);
      lines.push(list ? `- ${value}` : `${random.pick(words)}${i}: ${value}`);
    }
    return lines.join("\n") + "\n";
  }
  return randomText(random, YAML_PIECES, words, 60);
}

function sqliteConfigText(random: Random, ws: TableFuzzWorkspace): string {
  const lines: string[] = [];
  if (random.chance(0.85)) {
    lines.push(
      `dbpath ${random.pick([`${ws.dir}/valid.db`, "valid.db", "case.db", "/nonexistent"])}`,
    );
  }
  for (let i = random.int(6); i > 0; i--) {
    const key = random.pick(SQL_KEYS);
    const query = random.chance(0.8)
      ? random.pick(SQL_QUERIES)
      : randomText(random, [" ", "?", ";", "'"], ["SELECT", "FROM", "entries", "key"], 8);
    lines.push(random.chance(0.1) ? `# ${key} ${query}` : `${key} ${query}`);
    if (random.chance(0.1)) lines.push("");
  }
  return lines.join(random.chance(0.1) ? "\r\n" : "\n") + "\n";
}

function maybeMutate(random: Random, bytes: Uint8Array): Uint8Array {
  return random.chance(0.4) ? mutateBytes(random, bytes, 1 + random.int(4)) : bytes;
}

/** Flips, inserts, deletes, repeats or truncates bytes. */
export function mutateBytes(
  random: Random,
  input: Uint8Array,
  rounds: number,
): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer> = Uint8Array.from(input);
  const special = [0x00, 0x0a, 0x0d, 0x5c, 0x23, 0x3a, 0x22, 0x27, 0xff, 0xc3, 0xe2, 0x80];
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : random.int(bytes.length);
    switch (random.int(6)) {
      case 0:
        if (bytes.length) bytes[at] = bytes[at]! ^ (1 << random.int(8));
        break;
      case 1:
        if (bytes.length) bytes[at] = random.pick(special);
        break;
      case 2: {
        const insert = random.chance(0.5)
          ? random.bytes(1 + random.int(8))
          : [random.pick(special)];
        bytes = concat(bytes.subarray(0, at), Uint8Array.from(insert), bytes.subarray(at));
        break;
      }
      case 3:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(16)));
        break;
      case 4: {
        const slice = bytes.subarray(at, at + 1 + random.int(64));
        bytes = concat(bytes.subarray(0, at), slice, slice, bytes.subarray(at));
        break;
      }
      default:
        bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
