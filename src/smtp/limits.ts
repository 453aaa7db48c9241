// The limits of one listener's sessions and their defaults (OpenSMTPD's, and RFC 5321's
// line lengths). The session, the line reader and the listener enforce them.

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

/** OpenSMTPD's defaults, and RFC 5321's line limits. */
export const DEFAULT_LIMITS: SmtpLimits = {
  maxMessageSize: 35 * 1024 * 1024,
  maxRcpt: 1000,
  maxMails: 100,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 180_000,
  maxSessions: 10_000,
  maxSessionsPerClient: 100,
  greetingDelayMs: 0,
  commandLineMax: 512,
  textLineMax: 1000,
  maxErrors: 10,
};
