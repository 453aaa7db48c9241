// Parsing a command line the same way in every command (smtpd, smtpctl, sendmail, mailq,
// makemap, newaliases, queue flush): commander reports and never exits the process; help
// ends the command with EX.OK, a mistake with EX.USAGE.

import type { Command } from "commander";
import { EX } from "../mail/mod.ts";

/** Where {@link parseCommandLine} writes help and errors (default: standard output and error). */
export interface CommandLineOutput {
  /** Receives usage errors, one message at a time without its final line end. */
  readonly stderr?: (text: string) => void;
  /** Receives the help text, without its final line end. */
  readonly stdout?: (text: string) => void;
}

/** Parses `args` with `program`; undefined to go on, or the exit code when parsing ended it. */
export function parseCommandLine(
  program: Command,
  args: readonly string[],
  output: CommandLineOutput = {},
): number | undefined {
  const encoder = new TextEncoder();
  const { stderr, stdout } = output;
  program
    .exitOverride()
    .configureOutput({
      writeErr: stderr
        ? (text) => stderr(text.trimEnd())
        : (text) => Deno.stderr.writeSync(encoder.encode(text)),
      ...(stdout ? { writeOut: (text: string) => stdout(text.trimEnd()) } : {}),
    });
  try {
    program.parse([...args], { from: "user" });
    return undefined;
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? EX.OK : EX.USAGE;
  }
}
