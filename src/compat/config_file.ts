// Finding and loading the configuration for the commands run beside the daemon
// (sendmail, mailq, queue flush): `-C FILE` or `-f FILE`, else SMTPD_CONFIG, else the
// default path. Problems are printed with file:line:column and end in EX_CONFIG.

import {
  type Config,
  ConfigError,
  formatDiagnostic,
  loadConfigWithDiagnostics,
} from "../config/mod.ts";
import { EX } from "./sysexits.ts";
import { errorMessage } from "../mail/mod.ts";

/** Where the configuration is when nothing names it. */
export const DEFAULT_CONFIG_PATH = "/etc/mail/smtpd.conf";

/** The configuration path a command uses. */
export function configPath(flag: string | undefined): string {
  return flag ?? (Deno.env.get("SMTPD_CONFIG") || DEFAULT_CONFIG_PATH);
}

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
