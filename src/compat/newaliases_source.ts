// What newaliases(8) rebuilds: the `db:` alias tables of a configuration, or an aliases
// file named in its place. A configuration that does not load is reported with its own
// errors, never read as aliases text. Building the db files is makemap.ts's.

import {
  type Config,
  configPath,
  DEFAULT_ALIASES_PATH,
  DEFAULT_CONFIG_PATH,
  loadConfigWithDiagnostics,
} from "../config/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { parseAliases } from "../tables/mod.ts";
import { configFailureLines } from "./config_file.ts";

/** An alias table of a configuration and the db file it reads. */
export interface AliasDb {
  readonly table: string;
  readonly db: string;
}

/** Where newaliases reads from, or why it cannot. */
export type NewaliasesSource =
  | { readonly kind: "aliases"; readonly file: string }
  | {
    readonly kind: "config";
    readonly path: string;
    readonly config: Config;
    readonly dbs: readonly AliasDb[];
  }
  | { readonly kind: "broken"; readonly lines: readonly string[] };

// The start of an aliases(5) entry, `name:`; no smtpd.conf(5) statement starts so.
const ALIAS_ENTRY_REGEXP = /^[^\s:#]+\s*:/;

/**
 * Finds what `newaliases [-f FILE]` rebuilds. FILE (else $SMTPD_CONFIG, else
 * /etc/mail/smtpd.conf) is a configuration when it loads or reads as one; a named FILE
 * that reads as aliases(5) text is an aliases file. Only a missing default configuration
 * falls back to /etc/mail/aliases.
 */
export async function findNewaliasesSource(
  named: string | undefined,
  argv0: string,
): Promise<NewaliasesSource> {
  const path = configPath(named);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    // A named file is then taken for an aliases file, and building it says why it fails.
    if (named !== undefined) return { kind: "aliases", file: named };
    if (error instanceof Deno.errors.NotFound && path === DEFAULT_CONFIG_PATH) {
      return { kind: "aliases", file: DEFAULT_ALIASES_PATH };
    }
    return { kind: "broken", lines: [`${argv0}: ${path}: ${errorMessage(error)}`] };
  }
  try {
    const { config } = await loadConfigWithDiagnostics(path);
    return { kind: "config", path, config, dbs: aliasDbsOf(path, config) };
  } catch (error) {
    if (named !== undefined && readsAsAliases(text)) return { kind: "aliases", file: named };
    return { kind: "broken", lines: configFailureLines(argv0, path, error) };
  }
}

// Aliases text opens with a `name:` entry (its errors are then reported as aliases
// errors, by line), or parses as aliases and has one. Every line of smtpd.conf reads as
// `key value`, so parsing alone would take a broken configuration for aliases.
function readsAsAliases(text: string): boolean {
  const lines = text.split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (lines[0] !== undefined && ALIAS_ENTRY_REGEXP.test(lines[0])) return true;
  return parseAliases(text).errors.length === 0 && lines.some((l) => ALIAS_ENTRY_REGEXP.test(l));
}

// The db files of the `db:` tables the configuration's actions use as `alias <t>`, a
// relative path being relative to the configuration's directory.
function aliasDbsOf(path: string, config: Config): AliasDb[] {
  const aliasTables = new Set(config.actions.flatMap((a) => a.alias ? [a.alias.name] : []));
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  return config.tables.flatMap((t) => {
    if (!aliasTables.has(t.name) || t.source.kind !== "backend" || t.source.backend !== "db") {
      return [];
    }
    const file = t.source.config;
    return [{ table: t.name, db: file.startsWith("/") ? file : `${dir}/${file}` }];
  });
}
