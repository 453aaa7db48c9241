// smtpctl(8)'s command grammar: every command as the manual writes it, and how the words
// of a command line are matched against them — each word exactly, as a parameter of its
// kind, or as the one command word it is an unambiguous prefix of (`sh q`, parser.c).

/** The commands of smtpctl(8) (OpenSMTPD 7.x), and `reload`, this daemon's extension. */
export const CONTROL_COMMANDS = [
  "discover <id>",
  "encrypt",
  "encrypt <string>",
  "log brief",
  "log verbose",
  "monitor",
  "pause envelope <id>",
  "pause envelope all",
  "pause mda",
  "pause mta",
  "pause smtp",
  "profile <subsystem>",
  "reload",
  "remove <id>",
  "remove all",
  "resume envelope <id>",
  "resume envelope all",
  "resume mda",
  "resume mta",
  "resume route <routeid>",
  "resume smtp",
  "schedule <id>",
  "schedule all",
  "show envelope <evpid>",
  "show hosts",
  "show hoststats",
  "show message <id>",
  "show queue",
  "show queue <msgid>",
  "show relays",
  "show routes",
  "show stats",
  "show status",
  "spf walk",
  "trace <subsystem>",
  "unprofile <subsystem>",
  "untrace <subsystem>",
  "update table <name>",
] as const;

/** One command of {@link CONTROL_COMMANDS}. */
export type ControlCommand = typeof CONTROL_COMMANDS[number];

/** Commands anyone may run (smtpctl.c installs only these unprivileged). */
export const UNPRIVILEGED_COMMANDS: ReadonlySet<ControlCommand> = new Set([
  "encrypt",
  "encrypt <string>",
  "spf walk",
]);

/** The usage line smtpctl prints for a command it does not know (exit 1). */
export const SMTPCTL_USAGE = "usage: smtpctl command [argument ...]";

/** A command line matched: the command and its parameters, in order. */
export interface MatchedCommand {
  readonly command: ControlCommand;
  readonly params: readonly string[];
}

// What each parameter accepts: ids are 8 (message) or 16 (envelope) hex digits.
const PARAMETERS: Readonly<Record<string, RegExp>> = {
  "<id>": /^(?:[0-9a-f]{8}|[0-9a-f]{16})$/i,
  "<evpid>": /^[0-9a-f]{16}$/i,
  "<msgid>": /^[0-9a-f]{8}$/i,
  "<routeid>": /^[0-9]+$/,
};

function accepts(token: string, word: string): boolean {
  if (!token.startsWith("<")) return token === word;
  return PARAMETERS[token]?.test(word) ?? word !== "";
}

/**
 * The command a command line names, or undefined when none or more than one does.
 *
 * @example
 * ```ts
 * import { matchCommand } from "./command_grammar.ts";
 * console.assert(matchCommand(["sh", "q"])?.command === "show queue");
 * console.assert(matchCommand(["remove", "all"])?.command === "remove all");
 * ```
 */
export function matchCommand(words: readonly string[]): MatchedCommand | undefined {
  let candidates = CONTROL_COMMANDS.map((c) => ({ command: c, tokens: c.split(" ") }));
  const params: string[] = [];
  for (const [i, word] of words.entries()) {
    const here = candidates.filter((c) => c.tokens.length > i);
    // A command word said in full wins over a parameter ("all" is not an id).
    let next = here.filter((c) => !c.tokens[i]!.startsWith("<") && c.tokens[i] === word);
    if (next.length === 0) next = here.filter((c) => accepts(c.tokens[i]!, word));
    if (next.length === 0) {
      const prefixed = here.filter((c) =>
        !c.tokens[i]!.startsWith("<") && c.tokens[i]!.startsWith(word) && word !== ""
      );
      if (new Set(prefixed.map((c) => c.tokens[i])).size === 1) next = prefixed;
    }
    if (next.length === 0) return undefined;
    if (next[0]!.tokens[i]!.startsWith("<")) params.push(word);
    candidates = next;
  }
  const complete = candidates.filter((c) => c.tokens.length === words.length);
  return complete.length === 1 ? { command: complete[0]!.command, params } : undefined;
}
