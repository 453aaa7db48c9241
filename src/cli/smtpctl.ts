// The `smtpctl` command (smtpctl(8)): the words of the command line matched against the
// manual's commands (control/command_grammar.ts), each mapped to where it runs — here
// (encrypt, spf walk, monitor's loop), in the daemon over its socket, or, for the queue
// commands when no daemon runs, on the queue file itself, saying so.

import { hashPassword } from "../auth/mod.ts";
import { Command } from "commander";
import { loadCommandConfig, noDaemonForBrokenConfig, parseCommandLine } from "../compat/mod.ts";
import type { Config } from "../config/mod.ts";
import {
  CONTROL_COMMANDS,
  type ControlAnswer,
  type ControlCommand,
  controlDaemon,
  ControlUnavailable,
  matchCommand,
  offlineDirectory,
  SMTPCTL_USAGE,
} from "../control/mod.ts";
import { openConfiguredQueue, queueDirectory } from "../daemon/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import type { EnvelopeSelector, Queue, RemoveCount } from "../queue/mod.ts";
import { describeControlFailure, formatAnswer } from "./smtpctl_output.ts";
import { runMonitor } from "./smtpctl_monitor.ts";
import { runSpfWalk } from "./spf_walk.ts";

/** What a command runs with: the words' parameters, the configuration, the flags. */
export interface SmtpctlContext {
  readonly command: ControlCommand;
  readonly params: readonly string[];
  readonly config: Config;
  /** `--json`: print the data, not OpenSMTPD's text. */
  readonly json: boolean;
  /**
   * Asks the running daemon; throws ControlUnavailable when none answers. `onPage` gets
   * each page of a listing that comes in pages, as it comes.
   */
  ask(
    command: ControlCommand,
    params?: readonly string[],
    onPage?: (envelopes: unknown[], data: Record<string, unknown>) => void,
  ): Promise<ControlAnswer>;
}

type Local = (params: readonly string[]) => Promise<number>;
type Offline = (queue: Queue, params: readonly string[]) => Promise<unknown> | unknown;

/** Commands smtpctl runs itself, needing neither daemon nor configuration. */
const LOCAL: Partial<Readonly<Record<ControlCommand, Local>>> = {
  "spf walk": () => runSpfWalk(),
};

const select = (params: readonly string[]): EnvelopeSelector =>
  params[0] === undefined ? { all: true } : { id: params[0].toLowerCase() };

const removeAnswer = ({ removed, inFlight }: RemoveCount) => ({ count: removed, inFlight });

/** Queue commands that work on the queue file when no daemon runs. */
const OFFLINE: Partial<Readonly<Record<ControlCommand, Offline>>> = {
  "show queue": (q) => ({ envelopes: q.envelopes(), now: Date.now() }),
  "show queue <msgid>": (q, [id = ""]) => ({
    envelopes: q.envelopes().filter((e) => e.evpid.startsWith(id.toLowerCase())),
    now: Date.now(),
  }),
  "show envelope <evpid>": (q, [id = ""]) =>
    q.envelopes().find((e) => e.evpid === id.toLowerCase()) ??
      Promise.reject(new Error("unable to retrieve envelope")),
  "show message <id>": async (q, [id = ""]) => {
    const content = await q.content(id.slice(0, 8).toLowerCase());
    if (!content) throw new Error("unable to retrieve message");
    return { message: btoa(Array.from(content, (b) => String.fromCharCode(b)).join("")) };
  },
  "schedule <id>": (q, p) => ({ count: q.schedule(select(p), Date.now()) }),
  "schedule all": (q, p) => ({ count: q.schedule(select(p), Date.now()) }),
  "remove <id>": (q, p) => removeAnswer(q.removeSelected(select(p))),
  "remove all": (q, p) => removeAnswer(q.removeSelected(select(p))),
};

/**
 * Runs `smtpctl [-f FILE] [-D NAME=VALUE]… COMMAND [ARGUMENT…] [--json]`; resolves with
 * the exit code.
 */
export async function runSmtpctl(args: readonly string[]): Promise<number> {
  // The password may start with a dash: nothing after `encrypt` is an option.
  const configFlagWords = 2; // `-f FILE` before the command
  const at = args[0] === "-f" ? configFlagWords : 0;
  const first = args[at] === undefined ? undefined : matchCommand([args[at]!]);
  if (first?.command === "encrypt" && args.length <= at + 2) return await runEncrypt(args[at + 1]);
  const program = new Command("smtpctl")
    .description("control the SMTP daemon (smtpctl(8))")
    .usage("[-f file] [-D name=value]... command [argument ...] [--json]")
    .option("-f <file>", "use this configuration file")
    .option("-D <name=value>", "define a macro of the file, as smtpd -D does", collect, [])
    .option("--json", "print what a command returns as JSON")
    .argument("[command...]", "a command, or an unambiguous prefix of each of its words")
    .addHelpText("after", `\nCommands:\n  ${CONTROL_COMMANDS.join("\n  ")}`)
    .helpOption("-h, --help", "show this help");
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const { f: file, D: macros, json = false } = program.opts<
    { f?: string; D: string[]; json?: boolean }
  >();
  const words = program.args;
  const matched = matchCommand(words);
  if (!matched) {
    console.error(SMTPCTL_USAGE);
    return EX.FAILURE;
  }
  const { command, params } = matched;
  const local = LOCAL[command];
  if (local) return await local(params);
  const loaded = await loadCommandConfig("smtpctl", file, macros, { daemonOnly: true });
  if ("exit" in loaded) return loaded.exit;
  const offlineDir = offlineDirectory(queueDirectory(loaded.config));
  const context: SmtpctlContext = {
    command,
    params,
    config: loaded.config,
    json,
    ask: (c, p = [], onPage) => {
      const via = loaded.config.control?.socket;
      return controlDaemon(offlineDir, { command: c, params: p }, {
        ...(via ? { via } : {}),
        ...(onPage ? { onPage } : {}),
      });
    },
  };
  if (command === "monitor") return await runMonitor(context);
  let answer: ControlAnswer;
  let offline = false;
  try {
    // A listing's text is printed page by page: the first line does not wait for the
    // whole queue, and no answer has to hold it all (--json gathers it to print one object).
    const printPage = command === "show queue" && !json
      ? (envelopes: unknown[], data: Record<string, unknown>) => {
        const lines = formatAnswer(command, { ...data, envelopes }, { config: loaded.config });
        if (lines.length > 0) console.log(lines.join("\n"));
      }
      : undefined;
    answer = await context.ask(command, params, printPage);
  } catch (error) {
    const onFile = OFFLINE[command];
    if (!(error instanceof ControlUnavailable) || !onFile) return failed(error);
    // Working on the file takes its queue settings, which may be among what did not parse.
    if (loaded.broken) return noDaemonForBrokenConfig("smtpctl", errorMessage(error));
    console.error(`smtpctl: smtpd is not running (${errorMessage(error)}): working offline`);
    offline = true;
    answer = await runOffline(loaded.config, (queue) => onFile(queue, params));
  }
  return print(context, answer, offline);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function failed(error: unknown): number {
  console.error(describeControlFailure(error));
  return EX.FAILURE;
}

async function runOffline(
  config: Config,
  work: (queue: Queue) => Promise<unknown> | unknown,
): Promise<ControlAnswer> {
  try {
    const queue = await openConfiguredQueue(config, queueDirectory(config));
    try {
      return { exit: EX.OK, data: await work(queue) };
    } finally {
      queue.close();
    }
  } catch (error) {
    return { exit: EX.FAILURE, error: errorMessage(error) };
  }
}

function print(context: SmtpctlContext, answer: ControlAnswer, offline: boolean): number {
  if (answer.exit !== 0) {
    console.error(`smtpctl: ${answer.error ?? "command failed"}`);
    return answer.exit;
  }
  if (context.json) {
    console.log(JSON.stringify(offline ? { offline: true, ...wrap(answer.data) } : answer.data));
    return EX.OK;
  }
  if (context.command === "show message <id>") {
    const text = atob((answer.data as { message: string }).message);
    Deno.stdout.writeSync(Uint8Array.from(text, (c) => c.charCodeAt(0)));
    return EX.OK;
  }
  const lines = formatAnswer(context.command, answer.data, { config: context.config, offline });
  if (lines.length > 0) console.log(lines.join("\n"));
  return EX.OK;
}

function wrap(data: unknown): Record<string, unknown> {
  return typeof data === "object" && data !== null && !Array.isArray(data)
    ? data as Record<string, unknown>
    : { data };
}

// `encrypt [string]`: the password from the argument, else each line of standard input.
async function runEncrypt(password: string | undefined): Promise<number> {
  if (password !== undefined) {
    console.log(hashPassword(password));
    return EX.OK;
  }
  const text = await new Response(Deno.stdin.readable).text();
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) {
    console.error("smtpctl: no password given");
    return EX.DATAERR;
  }
  for (const line of lines) console.log(hashPassword(line));
  return EX.OK;
}
