// The command-line entry point. The command is chosen by the name the executable is called
// by (a link named sendmail, makemap, …) or by a first argument naming it; smtpd otherwise.

import { runMakemap, runNewaliases } from "./src/compat/mod.ts";
import { runSmtpctl } from "./src/cli/smtpctl.ts";
import { runSmtpd } from "./src/cli/smtpd.ts";

type Runner = (args: readonly string[]) => Promise<number>;

/** Every command by name: the executable's own name or a first argument selects one. */
const COMMANDS: Readonly<Record<string, Runner>> = {
  smtpd: runSmtpd,
  smtpctl: runSmtpctl,
  makemap: (args) => runMakemap(args),
  newaliases: (args) => runNewaliases(args),
};

/** Picks the command for an invocation: by program name, then by first argument. */
export function selectCommand(
  programName: string,
  args: readonly string[],
): { run: Runner; args: readonly string[] } {
  const base = programName.split("/").at(-1)?.replace(/\.(exe|ts|js)$/, "") ?? "";
  const byName = COMMANDS[base];
  if (byName) return { run: byName, args };
  const first = args[0];
  const byArg = first === undefined ? undefined : COMMANDS[first];
  if (byArg) return { run: byArg, args: args.slice(1) };
  return { run: runSmtpd, args };
}

if (import.meta.main) {
  const { run, args } = selectCommand(Deno.execPath(), Deno.args);
  Deno.exit(await run(args));
}
