// A reload (SIGHUP, `smtpctl reload`): smtpd.conf read again and checked as a whole; a
// file with errors is refused with every error logged as FILE:LINE:COL, and the daemon
// keeps what it runs. Otherwise the new rules, actions, tables, certificates and listeners
// take the place of the old at once, for sessions that start from then on.

import {
  type Config,
  ConfigError,
  formatDiagnostic,
  loadConfigWithDiagnostics,
} from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";

/** What a reload did: taken, or refused with the reasons (each also logged). */
export type ReloadResult = { readonly ok: true } | {
  readonly ok: false;
  readonly errors: string[];
};

/**
 * Reads and checks the configuration file again; resolves with the new configuration, or
 * with the errors (logged, each on its own line, the first line of each FILE:LINE:COL).
 */
export async function rereadConfig(
  file: string,
  log: Logger,
): Promise<{ config: Config } | { errors: string[] }> {
  try {
    return { config: (await loadConfigWithDiagnostics(file)).config };
  } catch (error) {
    const errors = error instanceof ConfigError
      ? error.diagnostics.filter((d) => d.severity !== "warning").map((d) =>
        formatDiagnostic(d, error.sources?.get(d.position.file) ?? "")
      )
      : [`${file}: ${errorMessage(error)}`];
    for (const e of errors) log.warn(`smtpd: reload refused: ${e.split("\n")[0]}`);
    return { errors };
  }
}
