// Finding and loading the configuration for the commands run beside the daemon
// (sendmail, mailq, queue flush): `-C FILE` or `-f FILE`, else SMTPD_CONFIG, else the
// default path. Problems are printed with file:line:column and end in EX_CONFIG.

import {
  type Config,
  ConfigError,
  configPath,
  formatDiagnostic,
  loadConfigWithDiagnostics,
} from "../config/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";

/** Loads the configuration, or prints why not and gives the exit code. */
export async function loadCommandConfig(
  program: string,
  flag: string | undefined,
): Promise<{ config: Config } | { exit: number }> {
  const path = configPath(flag);
  try {
    const loaded = await loadConfigWithDiagnostics(path);
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
