// Parsing a command line the same way in every command: commander reports to standard
// error and never exits the process; help ends the command with 0, a mistake with
// EX_USAGE (64).

import type { Command } from "commander";
import { EX } from "./sysexits.ts";

/** Parses `args` with `program`; undefined to go on, or the exit code when parsing ended it. */
export function parseCommandLine(program: Command, args: readonly string[]): number | undefined {
  program
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  try {
    program.parse([...args], { from: "user" });
    return undefined;
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? EX.OK : EX.USAGE;
  }
}
