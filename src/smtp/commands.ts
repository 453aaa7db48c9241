// The command table: which verb is allowed in which state, the check that makes every
// refusal and parses the argument, and the effect that acts on what the check parsed.
// This table is the session's state machine (RFC 5321 §4.1, §4.3.2).

import { isValidHelo } from "./address.ts";
import { checkAuth, runAuth } from "./auth_command.ts";
import * as filtering from "./filtering.ts";
import { accept, type CheckResult, hangUp, protocolError } from "./check_result.ts";
import { runHello } from "./hello.ts";
import { checkMailFrom, runMailFrom } from "./mail_from.ts";
import { runBdat } from "./message_data.ts";
import { checkRcptTo, runRcptTo } from "./rcpt_to.ts";
import { REPLIES, type Reply } from "./replies.ts";
import type { Session } from "./session.ts";
import type { SessionState } from "./states.ts";

/** One SMTP command; `A` is what its check parses from the arguments for its run. */
export interface Command<A> {
  readonly verb: string;
  /** The states in which the command is accepted. */
  readonly allowedIn: readonly SessionState[];
  /** A more precise refusal than 503 for some states outside `allowedIn`. */
  readonly refusedIn?: Partial<Record<SessionState, Reply>>;
  /**
   * Makes every refusal, or parses the arguments for `run`; never changes the session.
   * It may wait (a table answered by a server), and the session waits with it.
   * Without one, any arguments are taken and ignored (NOOP and HELP, RFC 5321 §4.1.1.9;
   * VRFY and EXPN get the same answer whatever they ask) and `run` gets `undefined`.
   */
  check?(session: Session, args: string): CheckResult<A> | Promise<CheckResult<A>>;
  /** The effect: replies and state changes, with what the check parsed. May be async. */
  run(session: Session, argument: A): void | Promise<void>;
}

const ANY_STATE: readonly SessionState[] = ["greeting", "ready", "mail", "rcpt"];
// RFC 3030 §3: "BDAT" SP chunk-size [SP end-marker], chunk-size = 1*DIGIT (leading zeros
// included); blanks around the words are tolerated, as around other commands' arguments.
const BDAT_REGEXP = /^0*(\d+)(?:[ \t]+(LAST))?$/i;

// Binds a command's check and run to the same argument type before it joins the table.
function command<A>(definition: Command<A>): Command<unknown> {
  return definition;
}

function checkHello(_s: Session, args: string): CheckResult<string> {
  const name = args.trim();
  const valid = name !== "" && !name.includes(" ") && isValidHelo(name);
  return valid ? accept(name) : protocolError(REPLIES.helloSyntax);
}

function noArguments(_s: Session, args: string): CheckResult<void> {
  return args.trim() === "" ? accept(undefined) : protocolError(REPLIES.syntax);
}

// A BDAT line that cannot be read leaves the chunk's end unknown, and the chunk's bytes
// would be read as commands: the session hangs up instead (as Postfix does). So does a
// size too large to count exactly, which no message could reach anyway.
function checkBdat(_s: Session, args: string): CheckResult<{ size: number; last: boolean }> {
  const m = BDAT_REGEXP.exec(args.trim());
  const size = Number(m?.[1]);
  if (!m || !Number.isSafeInteger(size)) return hangUp(REPLIES.bdatSyntax);
  return accept({ size, last: m[2] !== undefined });
}

/** The verbs this server knows, by upper-cased verb. */
export const COMMANDS: ReadonlyMap<string, Command<unknown>> = new Map(
  [
    command({
      verb: "EHLO",
      // RFC 5321 §4.1.4: EHLO may be repeated and resets the transaction (OpenSMTPD refuses
      // a second one with 503; we follow the RFC).
      allowedIn: ANY_STATE,
      check: checkHello,
      run: (s, name) => runHello(s, name, true),
    }),
    command({
      verb: "HELO",
      allowedIn: ANY_STATE,
      check: checkHello,
      run: (s, name) => runHello(s, name, false),
    }),
    command({
      verb: "MAIL",
      allowedIn: ["ready"],
      refusedIn: {
        greeting: REPLIES.helloFirst,
        mail: REPLIES.nestedMail,
        rcpt: REPLIES.nestedMail,
      },
      check: checkMailFrom,
      run: runMailFrom,
    }),
    command({
      verb: "RCPT",
      allowedIn: ["mail", "rcpt"],
      refusedIn: { greeting: REPLIES.helloFirst },
      check: checkRcptTo,
      run: runRcptTo,
    }),
    command({
      verb: "DATA",
      allowedIn: ["rcpt"],
      refusedIn: { greeting: REPLIES.helloFirst, mail: REPLIES.noRecipient },
      check: (s, args) =>
        // RFC 3030 §2: a message begun with BDAT is not continued with DATA.
        s.transaction?.transfer === "bdat"
          ? protocolError(REPLIES.dataAfterBdat)
          : noArguments(s, args),
      run: (s) => s.startData(),
    }),
    command({
      verb: "BDAT",
      // RFC 3030: the chunk follows the command at once and is read whatever the answer,
      // so whether it is taken is decided after reading it (message_data.ts), not here.
      allowedIn: ANY_STATE,
      check: checkBdat,
      run: runBdat,
    }),
    command({
      verb: "RSET",
      allowedIn: ANY_STATE,
      check: noArguments,
      run: runReset,
    }),
    command({
      verb: "STARTTLS",
      // RFC 3207 §4: not inside a transaction; only where offered, and only once.
      allowedIn: ["greeting", "ready"],
      check: (s, args) => {
        if (s.canStartTls) return noArguments(s, args);
        return protocolError(s.offersStartTls ? REPLIES.alreadySecured : REPLIES.notSupported);
      },
      run: (s) => s.startTls(),
    }),
    command({
      verb: "AUTH",
      // RFC 4954 §4: after EHLO, outside a transaction, once per session.
      allowedIn: ["ready"],
      refusedIn: { greeting: REPLIES.helloFirst },
      check: checkAuth,
      run: runAuth,
    }),
    command({ verb: "NOOP", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.ok) }),
    command({ verb: "HELP", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.help) }),
    command({ verb: "VRFY", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.vrfy) }),
    command({ verb: "EXPN", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.expn) }),
    command({ verb: "QUIT", allowedIn: ANY_STATE, run: runQuit }),
  ].map((c) => [c.verb, c] as const),
);

// RSET: drops the transaction (its filters are told), back to where EHLO left the session.
function runReset(s: Session): void {
  if (s.transaction) filtering.endTransaction(s, s.transaction.msgid);
  s.transaction = undefined;
  s.enter(s.facts.helo === undefined ? "greeting" : "ready");
  s.reply(REPLIES.reset);
}

function runQuit(s: Session): void {
  s.endingBecause("quit");
  s.reply(REPLIES.bye);
  s.close(true);
}

/** What a command without a check runs with. */
export const NO_ARGUMENT: CheckResult<undefined> = accept(undefined);

/** Splits a command line into its command (when known) and arguments. */
export function findCommand(line: string): { command: Command<unknown>; args: string } | undefined {
  const space = line.indexOf(" ");
  const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
  const command = COMMANDS.get(verb);
  if (!command) return undefined;
  return { command, args: space === -1 ? "" : line.slice(space + 1) };
}

/** The reply for a command refused in a state. */
export function refusalFor(command: Command<unknown>, state: SessionState): Reply {
  return command.refusedIn?.[state] ?? REPLIES.badSequence;
}
