// What smtpd(8) refuses to start with besides the file's own errors: a configuration with
// no `match` rule at all ("no rules, nothing to do"), which would refuse every recipient.
// Kept out of parseConfig(), whose callers parse fragments that need no rules.

import type { Diagnostic } from "./errors.ts";
import type { Config } from "./model.ts";

/** An error, at the file's first line, when the configuration has no rule. */
export function checkHasRules(config: Config): Diagnostic[] {
  if (config.matches.length > 0) return [];
  return [{
    severity: "error",
    message: "No rules, nothing to do: add a `match` line, or every recipient is refused",
    position: { file: config.file, line: 1, column: 1 },
  }];
}
