// Every reply the SMTP server sends, in one table: code, enhanced status code (RFC 3463)
// and text. Temporary or permanent follows from the code, never from a separate flag.

/** One SMTP reply. */
export interface Reply {
  readonly code: number;
  /** The RFC 3463 enhanced status code, e.g. "5.1.1"; absent for the greeting. */
  readonly enhanced?: string;
  readonly text: string;
}

// RFC 5321 §4.2: reply text is printable US-ASCII, space and tab; §4.5.3.1.5: a reply line
// is at most 512 octets with its CRLF. Text that echoes the client (a HELO name, an address)
// is held to both here, once for every reply.
const UNPRINTABLE_REGEXP = /[^\t\x20-\x7e]/g;
const REPLY_LINE_MAX = 512;

/**
 * Renders a reply as it goes on the wire (multi-line when the text has several lines), each
 * line printable ASCII (anything else becomes "?") and cut to 512 octets.
 *
 * @example
 * ```ts
 * import { formatReply } from "./replies.ts";
 * formatReply({ code: 250, text: "Hello h\u00e9 [192.0.2.1]" }); // "250 Hello h? [192.0.2.1]\r\n"
 * ```
 */
export function formatReply(reply: Reply): string {
  const lines = reply.text.split("\n");
  const prefix = reply.enhanced ? `${reply.enhanced} ` : "";
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? " " : "-";
    let line = `${reply.code}${sep}${prefix}${lines[i]}`;
    if (UNPRINTABLE_REGEXP.test(line)) line = line.replace(UNPRINTABLE_REGEXP, "?");
    UNPRINTABLE_REGEXP.lastIndex = 0;
    if (line.length > REPLY_LINE_MAX - 2) line = line.slice(0, REPLY_LINE_MAX - 2);
    out += `${line}\r\n`;
  }
  return out;
}

/** A reply with its text completed by a detail (an address, a queue id…). */
export function withText(reply: Reply, text: string): Reply {
  return { ...reply, text };
}

/** The fixed replies, by what they answer. Texts follow OpenSMTPD where it has one. */
export const REPLIES = {
  ok: { code: 250, enhanced: "2.0.0", text: "Ok" },
  reset: { code: 250, enhanced: "2.0.0", text: "Reset state" },
  bye: { code: 221, enhanced: "2.0.0", text: "Bye" },
  help: {
    code: 214,
    enhanced: "2.0.0",
    text:
      "This is OpenSMTPD for Deno\nTo report bugs in the implementation, see the README\nEnd of HELP info",
  },
  vrfy: {
    code: 252,
    enhanced: "2.5.2",
    text: "Cannot VRFY user, but will accept message and attempt delivery",
  },
  expn: { code: 502, enhanced: "5.5.1", text: "Invalid command: EXPN is not supported" },
  recipientOk: { code: 250, enhanced: "2.1.5", text: "Destination address valid: Recipient ok" },
  startData: { code: 354, text: 'Enter mail, end with "." on a line by itself' },
  unrecognized: { code: 500, enhanced: "5.5.1", text: "Invalid command: Command unrecognized" },
  lineTooLong: { code: 500, enhanced: "5.5.2", text: "Line too long" },
  authLineTooLong: {
    code: 500,
    enhanced: "5.5.6",
    text: "Authentication exchange line is too long",
  },
  textLineTooLong: {
    code: 500,
    enhanced: "5.5.2",
    text: "Message refused: a line is longer than 1000 octets (RFC 5321 4.5.3.1.6)",
  },
  badSequence: {
    code: 503,
    enhanced: "5.5.1",
    text: "Invalid command: Command not allowed at this point.",
  },
  helloFirst: { code: 503, enhanced: "5.5.1", text: "Invalid command: Say HELO or EHLO first" },
  nestedMail: { code: 503, enhanced: "5.5.1", text: "Invalid command: Nested MAIL command" },
  noRecipient: { code: 503, enhanced: "5.5.1", text: "Invalid command: No recipient specified" },
  syntax: { code: 501, enhanced: "5.5.4", text: "Invalid command arguments" },
  helloSyntax: { code: 501, enhanced: "5.5.4", text: "Syntax: EHLO/HELO domain" },
  senderSyntax: { code: 553, enhanced: "5.1.7", text: "Sender address syntax error" },
  recipientSyntax: { code: 501, enhanced: "5.1.3", text: "Recipient address syntax error" },
  unsupportedOption: { code: 555, enhanced: "5.5.4", text: "Unsupported option" },
  sizeExceeded: {
    code: 552,
    enhanced: "5.3.4",
    text: "Message size exceeds fixed maximum message size",
  },
  tooBig: { code: 552, enhanced: "5.3.4", text: "Message too big for system" },
  dataBudgetFull: {
    code: 452,
    enhanced: "4.3.1",
    text: "Insufficient system storage: try again later",
  },
  loop: { code: 554, enhanced: "5.4.6", text: "Routing loop detected: Too many hops" },
  invalidRecipient: { code: 550, enhanced: "5.1.1", text: "Invalid recipient" },
  tempFailure: { code: 451, enhanced: "4.3.0", text: "Temporary failure" },
  queueFailure: { code: 451, enhanced: "4.3.0", text: "Temporary failure: message not queued" },
  tooManyRecipients: { code: 452, enhanced: "4.5.3", text: "Too many recipients" },
  tooManyMessages: { code: 452, enhanced: "4.5.3", text: "Too many messages sent" },
  tooManyErrors: { code: 421, enhanced: "4.7.0", text: "Too many errors, closing connection" },
  timeout: { code: 421, enhanced: "4.4.2", text: "Timeout, closing connection" },
  shuttingDown: { code: 421, enhanced: "4.3.2", text: "Service shutting down, closing connection" },
  readyToStartTls: { code: 220, enhanced: "2.0.0", text: "Ready to start TLS" },
  tlsRequired: { code: 530, enhanced: "5.7.0", text: "Must issue a STARTTLS command first" },
  // OpenSMTPD's smtp_check_auth() and smtp_check_starttls(): 503, not 502, for a command
  // this listener does not offer.
  notSupported: { code: 503, enhanced: "5.5.1", text: "Invalid command: Command not supported" },
  alreadySecured: {
    code: 503,
    enhanced: "5.5.1",
    text: "Invalid command: Channel already secured",
  },
  authOk: { code: 235, enhanced: "2.0.0", text: "Authentication succeeded" },
  authFailed: { code: 535, enhanced: "5.7.8", text: "Authentication failed" },
  // RFC 4954 §6: the credentials could not be checked now.
  authTemporary: { code: 454, enhanced: "4.7.0", text: "Temporary authentication failure" },
  authRequired: { code: 530, enhanced: "5.7.0", text: "Must issue an AUTH command first" },
  authAlready: { code: 503, enhanced: "5.5.1", text: "Invalid command: Already authenticated" },
  authMechanism: { code: 504, enhanced: "5.5.4", text: "Unrecognized authentication type" },
  authCancelled: { code: 501, enhanced: "5.7.0", text: "Authentication cancelled" },
  authSyntax: { code: 501, enhanced: "5.5.2", text: "Syntax error in authentication data" },
  tooManyAuthFailures: {
    code: 421,
    enhanced: "4.7.0",
    text: "Too many authentication failures, closing connection",
  },
  senderNotOwned: {
    code: 553,
    enhanced: "5.7.1",
    text: "Sender address rejected: not owned by the authenticated user",
  },
  utf8Required: {
    code: 553,
    enhanced: "5.6.7",
    text: "SMTPUTF8 is required for a UTF-8 address",
  },
  dataAfterBdat: {
    code: 503,
    enhanced: "5.5.1",
    text: "Invalid command: DATA cannot follow BDAT in one transaction",
  },
  // Postfix's reply to a BDAT line it cannot read, after which it hangs up.
  bdatSyntax: { code: 521, enhanced: "5.5.4", text: "Syntax: BDAT count [LAST]" },
  bdatRefused: {
    code: 503,
    enhanced: "5.5.1",
    text: "Invalid command: BDAT needs MAIL FROM and a recipient first",
  },
  earlyTalker: { code: 554, enhanced: "5.5.0", text: "Talking before the greeting is not allowed" },
  // smtpctl pause smtp: new sessions are refused for now (RFC 5321 §3.8: 421 at connect).
  paused: {
    code: 421,
    enhanced: "4.3.2",
    text: "Service temporarily unavailable, try again later",
  },
  tooManySessions: { code: 421, enhanced: "4.7.0", text: "Too many connections, try again later" },
  filterUnavailable: {
    code: 421,
    enhanced: "4.3.0",
    text: "Temporary failure: filter unavailable, closing connection",
  },
  filterUnavailableData: {
    code: 451,
    enhanced: "4.3.0",
    text: "Temporary failure: message filter unavailable",
  },
  localError: { code: 421, enhanced: "4.3.0", text: "Temporary error, closing connection" },
} as const satisfies Record<string, Reply>;

/**
 * A reply written in a configuration (`error:550 5.7.1 no such list`): the code, the
 * enhanced code when given (else the class's x.0.0), and the text. Codes outside 4xx/5xx
 * become 550, so a table entry can never make a refusal look like success.
 */
export function parseReply(text: string): Reply {
  const m = /^\s*([245]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3}))?\s*(.*)$/.exec(text);
  const code = m ? Number(m[1]) : 550;
  const safe = code >= 400 ? code : 550;
  const enhanced = m?.[2] ?? `${String(safe)[0]}.0.0`;
  const rest = (m ? m[3]! : text).replace(/[\r\n]+/g, " ").trim();
  return { code: safe, enhanced, text: rest === "" ? "Error" : rest };
}
