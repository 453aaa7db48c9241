// makemap(8) and newaliases(8): build a `db:` table file from table(5), aliases(5) or set
// text, and tell a running daemon to read the alias tables newaliases rebuilt. The db
// format and its atomic write belong to the tables box; this is the front-end.

import { Command } from "commander";
import type { Config } from "../config/mod.ts";
import { controlDaemon, ControlUnavailable, offlineDirectory } from "../control/mod.ts";
import { queueDirectory } from "../daemon/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import {
  type DbSourceInfo,
  DbTable,
  DuplicateKeyError,
  parseAliases,
  parseTableEntries,
  readTableEntries,
  type TableEntries,
  writeDbTable,
} from "../tables/mod.ts";
import { parseCommandLine } from "./command_line.ts";
import { findNewaliasesSource } from "./newaliases_source.ts";

/** The text a makemap input is read as. */
export type MakemapType = "table" | "aliases" | "set";

/** Options of {@link runMakemap} and {@link runNewaliases}. */
export interface MakemapOptions {
  /** The program name in messages (`makemap`, `newaliases`). */
  readonly argv0?: string;
  /** Where diagnostics go (default: standard error). */
  readonly stderr?: (line: string) => void;
  /** Where `-U` dumps go (default: standard output). */
  readonly stdout?: (line: string) => void;
}

/**
 * `makemap [-U] [-d hash|btree] [-o DBFILE] [-t aliases|set] FILE`: writes `FILE.db` (or
 * DBFILE); FILE `-` is standard input (with `-o`). `-U` prints the entries of an existing
 * db instead. As OpenSMTPD's makemap.c: `-b i` (or `-bi`) is newaliases, `-C FILE` is
 * ignored, `-O AliasFile=PATH` builds that aliases file, and sendmail's form `makemap
 * hash|btree DBFILE` reads standard input. Resolves to an exit status.
 */
export async function runMakemap(
  args: readonly string[],
  options: MakemapOptions = {},
): Promise<number> {
  const argv0 = options.argv0 ?? "makemap";
  const say = options.stderr ?? ((line: string) => console.error(line));
  const program = new Command(argv0)
    .description("build a db table from a table(5), aliases(5) or set file")
    .option("-t <type>", "aliases | set (default: a table(5) file)")
    .option("-o <dbfile>", "output file (default: FILE.db)")
    .option("-d <dbtype>", "hash | btree (accepted, both build the same file)")
    .option("-U", "print the entries of the db FILE instead of building it")
    .option("-b <mode>", "i: run as newaliases")
    .option("-C <file>", "ignored (sendmail's configuration file)")
    .option("-O <option>", "AliasFile=PATH: build that aliases file (other options ignored)")
    .option("-f <file>", "with -bi: smtpd.conf (its alias tables)")
    .argument("[file...]", "input file (- for standard input), or sendmail's DBTYPE DBFILE");
  const ended = parseCommandLine(program, args, {
    stderr: say,
    stdout: options.stdout ?? console.log,
  });
  if (ended !== undefined) return ended;
  const opts = program.opts<
    { t?: string; o?: string; d?: string; U?: boolean; b?: string; O?: string; f?: string }
  >();
  if (opts.b === "i") {
    return await runNewaliases([...(opts.f ? ["-f", opts.f] : []), ...program.args], options);
  }
  const aliasFile = opts.O?.startsWith("AliasFile=") ? opts.O.slice("AliasFile=".length) : "";
  let file = aliasFile || program.args[0];
  let output = opts.o;
  const type = aliasFile ? "aliases" : opts.t;
  if (program.args.length === 2 && !aliasFile) {
    // sendmail's `makemap TYPE DBFILE < input`, as makemap.c re-executes it.
    if (output !== undefined) return usage(argv0, say);
    const [dbType, db] = program.args as [string, string];
    opts.d = dbType;
    output = db.endsWith(".db") ? db : `${db}.db`;
    file = "-";
  } else if (file === undefined || program.args.length > (aliasFile ? 0 : 1)) {
    return usage(argv0, say);
  }
  if (file === "-" && output === undefined && !opts.U) {
    say(`${argv0}: reading standard input needs -o DBFILE`);
    return EX.USAGE;
  }
  if (type !== undefined && type !== "aliases" && type !== "set") {
    say(`${argv0}: unsupported type "${type}": expected "aliases" or "set"`);
    return EX.USAGE;
  }
  if (opts.d !== undefined && opts.d !== "hash" && opts.d !== "btree") {
    say(`${argv0}: unsupported db type "${opts.d}": expected "hash" or "btree"`);
    return EX.USAGE;
  }
  if (opts.U) return dumpDb(file, { argv0, say, out: options.stdout ?? console.log });
  return await buildDb(file, output ?? `${file}.db`, type ?? "table", { argv0, say });
}

function usage(argv0: string, say: (line: string) => void): number {
  say(`usage: ${argv0} [-U] [-d dbtype] [-o dbfile] [-t type] file`);
  return EX.USAGE;
}

/**
 * `newaliases [-f FILE] [FILE]`, as OpenSMTPD's: with a configuration (`-f smtpd.conf`,
 * else $SMTPD_CONFIG or /etc/mail/smtpd.conf when it exists), every `db:` table an action
 * uses as `alias <t>` is rebuilt from its text (`aliases.db` from `aliases`); given an
 * aliases file instead, `FILE.db` is built from it, as `makemap -t aliases FILE` does.
 * A configuration that does not load is reported with its errors (EX_CONFIG).
 */
export async function runNewaliases(
  args: readonly string[],
  options: MakemapOptions = {},
): Promise<number> {
  const argv0 = options.argv0 ?? "newaliases";
  const say = options.stderr ?? ((line: string) => console.error(line));
  const program = new Command(argv0)
    .description("rebuild the aliases db")
    .option("-f <file>", "smtpd.conf (its alias tables) or an aliases file")
    .argument("[file]", "aliases file");
  const ended = parseCommandLine(program, args, {
    stderr: say,
    stdout: options.stdout ?? console.log,
  });
  if (ended !== undefined) return ended;
  const named = program.opts<{ f?: string }>().f ?? program.args[0];
  const source = await findNewaliasesSource(named, argv0);
  switch (source.kind) {
    case "broken":
      for (const line of source.lines) say(line);
      return EX.CONFIG;
    case "aliases":
      return await buildDb(source.file, `${source.file}.db`, "aliases", { argv0, say });
  }
  if (source.dbs.length === 0) {
    say(`${argv0}: ${source.path}: no action uses a db: table as its alias table`);
    return EX.OK;
  }
  for (const { db } of source.dbs) {
    const code = await buildDb(db.replace(/\.db$/, ""), db, "aliases", { argv0, say });
    if (code !== EX.OK) return code;
    say(`${argv0}: rebuilt ${db}`);
  }
  return await tellDaemon(source.config, source.dbs.map((d) => d.table), {
    argv0,
    say,
  });
}

// A running daemon reads a rebuilt table when told (`smtpctl update table NAME`); without
// one, the next start reads the new files anyway.
async function tellDaemon(
  config: Config,
  tables: readonly string[],
  { argv0, say }: Reporter,
): Promise<number> {
  const offlineDir = offlineDirectory(queueDirectory(config));
  for (const table of new Set(tables)) {
    let answer;
    try {
      answer = await controlDaemon(offlineDir, { command: "update table <name>", params: [table] });
    } catch (error) {
      if (error instanceof ControlUnavailable) return EX.OK;
      say(`${argv0}: cannot tell the daemon: ${errorMessage(error)}`);
      return EX.UNAVAILABLE;
    }
    if (answer.exit !== 0) {
      say(`${argv0}: the daemon did not reload table "${table}": ${answer.error ?? "failed"}`);
      return EX.UNAVAILABLE;
    }
    say(`${argv0}: the running daemon reloaded table "${table}"`);
  }
  return EX.OK;
}

/** Parses makemap input text of the given type into table contents, or line errors. */
export function parseMakemapInput(
  text: string,
  type: MakemapType,
): { contents: TableEntries } | { errors: { line: number; message: string }[] } {
  switch (type) {
    case "aliases": {
      const { entries, lines, errors } = parseAliases(text);
      return errors.length > 0
        ? { errors: [...errors] }
        : { contents: { shape: "map", entries, lines } };
    }
    case "set": {
      // The marker line read first forces a list; the lines are the file's own.
      const { shape, entries, lines } = parseTableEntries(`# @list\n${text}`);
      return { contents: { shape, entries, lines: (lines ?? []).map((n) => n - 1) } };
    }
    case "table": {
      const { contents, errors } = readTableEntries(text);
      return errors.length > 0 ? { errors: [...errors] } : { contents };
    }
  }
}

interface Reporter {
  readonly argv0: string;
  readonly say: (line: string) => void;
}

async function buildDb(
  file: string,
  output: string,
  type: MakemapType,
  { argv0, say }: Reporter,
): Promise<number> {
  let text: string;
  let source: DbSourceInfo | undefined;
  try {
    if (file === "-") {
      text = await new Response(Deno.stdin.readable).text();
    } else {
      const info = await Deno.stat(file);
      source = { mode: info.mode ?? 0o644, uid: info.uid ?? 0, gid: info.gid ?? 0 };
      text = await Deno.readTextFile(file);
    }
  } catch (error) {
    say(`${argv0}: cannot read "${file}": ${errorMessage(error)}`);
    return EX.NOINPUT;
  }
  const parsed = parseMakemapInput(text, type);
  if ("errors" in parsed) {
    for (const e of parsed.errors) say(`${argv0}: ${file}:${e.line}: ${e.message}`);
    return EX.DATAERR;
  }
  try {
    // The db carries the source's mode and owner, as OpenSMTPD's makemap does.
    const { ownerNotKept } = await writeDbTable(output, parsed.contents, source);
    if (ownerNotKept !== undefined) {
      say(`${argv0}: couldn't carry ownership to "${output}": ${ownerNotKept}`);
    }
  } catch (error) {
    // As OpenSMTPD's makemap: a key written twice is an error, and no db is written.
    if (error instanceof DuplicateKeyError) {
      for (const { key, line } of error.duplicates) {
        say(
          `${argv0}: ${file}${line === undefined ? "" : `:${line}`}: duplicate entry for "${key}"`,
        );
      }
      return EX.DATAERR;
    }
    say(`${argv0}: cannot create "${output}": ${errorMessage(error)}`);
    return EX.CANTCREAT;
  }
  return EX.OK;
}

function dumpDb(
  file: string,
  { argv0, say, out }: Reporter & { out: (line: string) => void },
): number {
  let table: DbTable;
  try {
    table = DbTable.open(file, file);
  } catch (error) {
    say(`${argv0}: ${errorMessage(error)}`);
    return EX.NOINPUT;
  }
  try {
    for (const key of table.keys()) {
      out(table.shape === "list" ? key : `${key}\t${table.lookup("string", key) ?? ""}`);
    }
  } finally {
    table.close();
  }
  return EX.OK;
}
