// The `smtpctl` command: `encrypt` (a password hash for credentials tables, from the
// argument or standard input), `show queue` (as mailq) and `schedule all` (every envelope due
// now: the running daemon notices the change and delivers them).

import { Command } from "commander";
import { hashPassword } from "../auth/mod.ts";
import { loadCommandConfig, parseCommandLine, runMailq } from "../compat/mod.ts";
import { openConfiguredQueue, queueDirectory } from "../daemon/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";

type Handler = (args: readonly string[]) => Promise<number>;

/** Control commands by their words, as smtpctl(8) names them. */
const COMMANDS: Readonly<Record<string, Handler>> = {
  encrypt: runEncrypt,
  "show queue": (args) => runMailq(args),
  "schedule all": runScheduleAll,
};

/** Runs `smtpctl ARGS…`; resolves with the exit code. */
export async function runSmtpctl(args: readonly string[]): Promise<number> {
  // smtpctl(8) accepts unambiguous prefixes of each word (`sh q` for `show queue`).
  for (const words of [2, 1]) {
    if (args.length < words) continue;
    const given = args.slice(0, words);
    const matches = Object.keys(COMMANDS).filter((c) => {
      const parts = c.split(" ");
      return parts.length === words && parts.every((p, i) => p.startsWith(given[i]!));
    });
    if (matches.length === 1) return await COMMANDS[matches[0]!]!(args.slice(words));
  }
  console.error(`usage: smtpctl ${Object.keys(COMMANDS).join(" | ")} …`);
  return EX.USAGE;
}

async function runEncrypt(args: readonly string[]): Promise<number> {
  // The password may start with a dash, so nothing after `encrypt` is an option.
  const program = new Command("smtpctl encrypt")
    .description("print a password hash for a credentials table")
    .argument("[string]", "the password (default: the first line of standard input)")
    .allowUnknownOption()
    .helpOption(false);
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const password = program.args[0] ?? (await readLine());
  if (password === undefined) {
    console.error("smtpctl: no password given");
    return EX.DATAERR;
  }
  console.log(hashPassword(password));
  return EX.OK;
}

// The first line of standard input, without its line end.
async function readLine(): Promise<string | undefined> {
  const text = await new Response(Deno.stdin.readable).text();
  if (text === "") return undefined;
  return text.split(/\r?\n/)[0];
}

// Makes every queued envelope due now. The daemon sees the queue file change within a
// second and tries them; without a daemon, `queue flush` does.
async function runScheduleAll(args: readonly string[]): Promise<number> {
  const program = new Command("smtpctl schedule all")
    .description("make every queued envelope due now")
    .option("-f <file>", "use this configuration file")
    .helpOption("-h, --help", "show this help");
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const loaded = await loadCommandConfig("smtpctl", program.opts<{ f?: string }>().f);
  if ("exit" in loaded) return loaded.exit;
  try {
    const queue = await openConfiguredQueue(loaded.config, queueDirectory(loaded.config));
    try {
      const n = queue.scheduleAll(Date.now());
      console.log(`${n} envelope${n === 1 ? "" : "s"} scheduled`);
    } finally {
      queue.close();
    }
  } catch (error) {
    console.error(`smtpctl: ${errorMessage(error)}`);
    return EX.FAILURE;
  }
  return EX.OK;
}
