// The command-line entry point. The command is chosen by the name the executable is called
// by (a link named sendmail, mailq, makemap, …) or by a first argument naming it; smtpd
// otherwise.

import { runFlush, runMailq, runMakemap, runNewaliases, runSendmail } from "./src/compat/mod.ts";
import { runSmtpctl, runSmtpd } from "./src/cli/mod.ts";
import { MAILBOX_WRITER_ROLE, SMTP_FRONT_ROLE } from "./src/privsep/mod.ts";
import { flushLog } from "./src/log/mod.ts";
import { EX } from "./src/mail/mod.ts";
import { runMailboxWriterChild } from "./src/delivery/mod.ts";

type Runner = (args: readonly string[]) => Promise<number>;

/** Every command by name: the executable's own name or a first argument selects one. */
const COMMANDS: Readonly<Record<string, Runner>> = {
  smtpd: runSmtpd,
  smtpctl: runSmtpctl,
  sendmail: runSendmail,
  "send-mail": runSendmail,
  mailq: runMailq,
  queue: runQueue,
  makemap: (args) => runMakemap(args),
  // The unprivileged SMTP front a root daemon starts (not for people to run).
  [SMTP_FRONT_ROLE]: (args) =>
    runSmtpd(args[0] === SMTP_FRONT_ROLE ? args.slice(1) : args, "front"),
  // The mailbox writer a root daemon starts as each mail user (not for people to run).
  "mailbox.writer": () => runMailboxWriterChild(),
  [MAILBOX_WRITER_ROLE]: () => runMailboxWriterChild(),
  newaliases: (args) => runNewaliases(args),
};

/** `queue flush …`: the queue's own commands (one so far). */
function runQueue(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "flush") return runFlush(rest);
  console.error("usage: queue flush [-f CONFIG] [--all] [--json]");
  return Promise.resolve(EX.USAGE);
}

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

/**
 * The name this process was started by. A link (`/usr/sbin/sendmail` → the executable)
 * shows in argv[0], which the kernel keeps in /proc/self/cmdline; the executable's own
 * path is the fallback where /proc cannot be read.
 */
export function programName(): string {
  try {
    const cmdline = Deno.readTextFileSync("/proc/self/cmdline");
    const argv0 = cmdline.slice(0, cmdline.indexOf("\0"));
    if (argv0 !== "") return argv0;
  } catch {
    // No /proc, or no permission to read it.
  }
  return Deno.execPath();
}

if (import.meta.main) {
  const { run, args } = selectCommand(programName(), Deno.args);
  const code = await run(args);
  flushLog();
  Deno.exit(code);
}
