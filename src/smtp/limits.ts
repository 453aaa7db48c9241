// The limits of one listener's sessions. The session, the line reader and the listener
// enforce them; their defaults are config/defaults.ts's DEFAULT_SMTP_LIMITS.

import { DEFAULT_SMTP_LIMITS } from "../config/mod.ts";

/** Limits of one listener's sessions. */
export interface SmtpLimits {
  /** Largest message in bytes (SIZE). */
  readonly maxMessageSize: number;
  /** Recipients per transaction. */
  readonly maxRcpt: number;
  /** Messages per session. */
  readonly maxMails: number;
  /** Idle time before the session is closed with 421, between commands. */
  readonly idleTimeoutMs: number;
  /** Idle time while message data is being received (RFC 5321 §4.5.3.2.6: 3 minutes). */
  readonly dataTimeoutMs: number;
  /** Sessions open at once on this listener; one more is answered 421 and closed. */
  readonly maxSessions: number;
  /** Sessions open at once from one client address (the machine's own are not capped). */
  readonly maxSessionsPerClient: number;
  /** Wait this long before the greeting; a client that talks first is refused. */
  readonly greetingDelayMs: number;
  /** Longest command line, CRLF included. */
  readonly commandLineMax: number;
  /** Longest text line, CRLF included. */
  readonly textLineMax: number;
  /** Protocol errors tolerated before the session is closed with 421. */
  readonly maxErrors: number;
}

/** OpenSMTPD's defaults, and RFC 5321's line limits: the configuration box's table. */
export const DEFAULT_LIMITS: SmtpLimits = DEFAULT_SMTP_LIMITS;
