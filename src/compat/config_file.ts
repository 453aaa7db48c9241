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

/**
 * Loads the configuration with the `-D` macros given, or prints why not and gives the
 * exit code (EX_USAGE for a `-D` that is not `name=value`).
 */
export async function loadCommandConfig(
  program: string,
  flag: string | undefined,
  macros: readonly string[] = [],
): Promise<{ config: Config } | { exit: number }> {
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
    return { exit: EX.CONFIG };
  }
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
