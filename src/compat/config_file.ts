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
    if (error instanceof ConfigError) {
      for (const d of error.diagnostics) {
        console.error(formatDiagnostic(d, error.sources?.get(d.position.file) ?? ""));
      }
    } else {
      console.error(`${program}: ${path}: ${errorMessage(error)}`);
    }
    return { exit: EX.CONFIG };
  }
}
