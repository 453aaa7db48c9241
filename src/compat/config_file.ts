// Finding and loading the configuration for the commands run beside the daemon
// (smtpctl, sendmail, mailq, queue flush): `-C FILE` or `-f FILE`, else SMTPD_CONFIG,
// else the default path, with the macros `-D name=value` defines as smtpd(8) takes them.
// Problems are printed with file:line:column and end in EX_CONFIG.

import {
  type Config,
  ConfigError,
  configPath,
  formatDiagnostic,
  loadConfigWithDiagnostics,
} from "../config/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";

/**
 * The macros of `-D name=value` flags (the last of a name wins), or the first flag that
 * is not `name=value`.
 */
export function parseMacroDefinitions(
  flags: readonly string[],
): { defines: Record<string, string> } | { invalid: string } {
  const defines: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) return { invalid: flag };
    defines[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return { defines };
}

/** A configuration loaded for a command, or one with errors that can only find the daemon. */
export type CommandConfig =
  | { readonly config: Config; readonly broken?: false }
  | {
    /** What parsed of a file with errors: its `queue path` and `control socket` only. */
    readonly config: Config;
    readonly broken: true;
  };

/**
 * Loads the configuration with the `-D` macros given, or prints why not and gives the
 * exit code (EX_USAGE for a `-D` that is not `name=value`). With `daemonOnly`, a file
 * with errors (an edit not reloaded yet) still names where the running daemon listens:
 * its errors are printed and what parsed comes back `broken`, for asking that daemon,
 * which runs on the file it loaded, and nothing else; as OpenSMTPD's sendmail, mailq
 * and smtpctl, which never parse smtpd.conf, keep working through a typo.
 */
export async function loadCommandConfig(
  program: string,
  flag: string | undefined,
  macros: readonly string[] = [],
  options: { readonly daemonOnly?: boolean } = {},
): Promise<CommandConfig | { exit: number }> {
  const parsed = parseMacroDefinitions(macros);
  if ("invalid" in parsed) {
    console.error(`${program}: -D ${parsed.invalid}: expected name=value`);
    return { exit: EX.USAGE };
  }
  const path = configPath(flag);
  try {
    const loaded = await loadConfigWithDiagnostics(path, { defines: parsed.defines });
    return { config: loaded.config };
  } catch (error) {
    for (const line of configFailureLines(program, path, error)) console.error(line);
    if (options.daemonOnly && error instanceof ConfigError && locatesDaemon(error)) {
      console.error(`${program}: ${path} has errors: asking the running daemon only`);
      return { config: error.partial!, broken: true };
    }
    return { exit: EX.CONFIG };
  }
}

// Whether what parsed still says where the daemon is: no error is on a line that may set
// it (`queue`, `control`, an `include` that may hold them) or on one with a macro, which
// may be the queue's. Else the defaults could lead to another daemon than the file's.
function locatesDaemon(error: ConfigError): boolean {
  if (!error.partial) return false;
  return error.diagnostics.every((d) => {
    if (d.severity !== "error") return true;
    const text = error.sources?.get(d.position.file)?.split("\n")[d.position.line - 1];
    if (text === undefined) return false;
    return !/^\s*(?:queue|control|include)\b/.test(text) && !text.includes("$");
  });
}

/** What a command that could only ask the daemon says when none answers: it gives up. */
export function noDaemonForBrokenConfig(program: string, why: string): number {
  console.error(`${program}: no daemon answers (${why}), and the configuration has errors`);
  return EX.CONFIG;
}

/**
 * What to print when the configuration at `path` did not load: each diagnostic with its
 * file:line:column and the line it points at, else the program, the path and the reason.
 */
export function configFailureLines(program: string, path: string, error: unknown): string[] {
  if (error instanceof ConfigError) {
    return error.diagnostics.map((d) =>
      formatDiagnostic(d, error.sources?.get(d.position.file) ?? "")
    );
  }
  return [`${program}: ${path}: ${errorMessage(error)}`];
}
