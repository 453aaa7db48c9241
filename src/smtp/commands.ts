// The command table: which verb is allowed in which state, the guard that may refuse it,
// and the effect. This table is the session's state machine (RFC 5321 §4.1, §4.3.2).

import { isValidHelo, parsePathArgument } from "./address.ts";
import { REPLIES, type Reply, withText } from "./replies.ts";
import type { Session } from "./session.ts";
import type { SessionState } from "./states.ts";

/** One SMTP command. */
export interface Command {
  readonly verb: string;
  /** The states in which the command is accepted. */
  readonly allowedIn: readonly SessionState[];
  /** A more precise refusal than 503 for some states outside `allowedIn`. */
  readonly refusedIn?: Partial<Record<SessionState, Reply>>;
  /** Refuses bad arguments; never changes the session. */
  check?(session: Session, args: string): Reply | undefined;
  /** The effect: replies and state changes. May be asynchronous. */
  run(session: Session, args: string): void | Promise<void>;
}

const ANY_STATE: readonly SessionState[] = ["greeting", "ready", "mail", "rcpt"];
const AUTH_REGEXP = /^([A-Za-z0-9_-]+)(?: ([^ ]+))?$/;

function checkHello(_s: Session, args: string): Reply | undefined {
  const name = args.trim();
  return name === "" || name.includes(" ") || !isValidHelo(name) ? REPLIES.helloSyntax : undefined;
}

function noArguments(_s: Session, args: string): Reply | undefined {
  return args.trim() === "" ? undefined : REPLIES.syntax;
}

/** The verbs this server knows, by upper-cased verb. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  ([
    {
      verb: "EHLO",
      // RFC 5321 §4.1.4: EHLO may be repeated and resets the transaction (OpenSMTPD refuses
      // a second one with 503; we follow the RFC).
      allowedIn: ANY_STATE,
      check: checkHello,
      run: (s, args) => s.hello(args.trim(), true),
    },
    {
      verb: "HELO",
      allowedIn: ANY_STATE,
      check: checkHello,
      run: (s, args) => s.hello(args.trim(), false),
    },
    {
      verb: "MAIL",
      allowedIn: ["ready"],
      refusedIn: {
        greeting: REPLIES.helloFirst,
        mail: REPLIES.nestedMail,
        rcpt: REPLIES.nestedMail,
      },
      check: (s, args) => {
        if (s.tlsMissing) return REPLIES.tlsRequired;
        if (s.authMissing) return REPLIES.authRequired;
        if (!/^FROM:/i.test(args)) return REPLIES.syntax;
        if (s.messageCount >= s.limits.maxMails) return REPLIES.tooManyMessages;
        return undefined;
      },
      run: (s, args) => s.mailFrom(args.slice(5)),
    },
    {
      verb: "RCPT",
      allowedIn: ["mail", "rcpt"],
      refusedIn: { greeting: REPLIES.helloFirst },
      check: (s, args) => {
        if (!/^TO:/i.test(args)) return REPLIES.syntax;
        if (!parsePathArgument(args.slice(3))) return REPLIES.recipientSyntax;
        return s.recipientCount >= s.limits.maxRcpt ? REPLIES.tooManyRecipients : undefined;
      },
      run: (s, args) => s.rcptTo(args.slice(3)),
    },
    {
      verb: "DATA",
      allowedIn: ["rcpt"],
      refusedIn: { greeting: REPLIES.helloFirst, mail: REPLIES.noRecipient },
      check: (s, args) => s.dataAfterBdat ? REPLIES.dataAfterBdat : noArguments(s, args),
      run: (s) => s.startData(),
    },
    {
      verb: "BDAT",
      // RFC 3030: the chunk follows the command at once and is read whatever the answer,
      // so the session decides after reading it (Session.bdat), not here.
      allowedIn: ANY_STATE,
      check: (_s, args) => (/^\d{1,15}( LAST)?$/i.test(args.trim()) ? undefined : REPLIES.syntax),
      run: (s, args) => {
        const [size, last] = args.trim().split(" ");
        s.bdat(Number(size), last !== undefined);
      },
    },
    {
      verb: "RSET",
      allowedIn: ANY_STATE,
      check: noArguments,
      run: (s) => s.reset(),
    },
    {
      verb: "STARTTLS",
      // RFC 3207 §4: not inside a transaction; only where offered, and only once.
      allowedIn: ["greeting", "ready"],
      check: (s, args) => {
        if (!s.canStartTls) return REPLIES.notSupported;
        return args.trim() === "" ? undefined : REPLIES.syntax;
      },
      run: (s) => s.startTls(),
    },
    {
      verb: "AUTH",
      // RFC 4954 §4: after EHLO, outside a transaction, once per session.
      allowedIn: ["ready"],
      refusedIn: { greeting: REPLIES.helloFirst },
      check: (s, args) => {
        if (!s.canAuthenticate) {
          return s.authenticated ? REPLIES.authAlready : REPLIES.notSupported;
        }
        return AUTH_REGEXP.test(args.trim()) ? undefined : REPLIES.syntax;
      },
      run: (s, args) => {
        const [, mechanism, initial] = AUTH_REGEXP.exec(args.trim())!;
        return s.authenticate(mechanism!, initial);
      },
    },
    { verb: "NOOP", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.ok) },
    { verb: "HELP", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.help) },
    { verb: "VRFY", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.vrfy) },
    { verb: "EXPN", allowedIn: ANY_STATE, run: (s) => s.reply(REPLIES.expn) },
    { verb: "QUIT", allowedIn: ANY_STATE, run: (s) => s.quit() },
  ] satisfies Command[]).map((c) => [c.verb, c] as const),
);

/** Splits a command line into its command (when known) and arguments. */
export function findCommand(line: string): { command: Command; args: string } | undefined {
  const space = line.indexOf(" ");
  const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
  const command = COMMANDS.get(verb);
  if (!command) return undefined;
  return { command, args: space === -1 ? "" : line.slice(space + 1) };
}

/** The reply for a command refused in a state. */
export function refusalFor(command: Command, state: SessionState): Reply {
  return command.refusedIn?.[state] ?? REPLIES.badSequence;
}

/** `550 5.1.1 Invalid recipient: <addr>` */
export function invalidRecipient(address: string): Reply {
  return withText(REPLIES.invalidRecipient, `${REPLIES.invalidRecipient.text}: <${address}>`);
}
