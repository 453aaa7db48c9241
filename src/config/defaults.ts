// Every built-in default, written once: where the configuration is looked for, the values
// smtpd.conf(5) gives what a file leaves unsaid, the limits of an SMTP session and the timeouts
// of a delivery. The parser, the printer, the queue, the session, the delivery backends and the
// commands all read them from here.

/** The configuration file when neither a flag nor $SMTPD_CONFIG names one (smtpd(8) `-f`). */
export const DEFAULT_CONFIG_PATH = "/etc/mail/smtpd.conf";

/** The environment variable that names the configuration file for every command. */
export const CONFIG_PATH_VARIABLE = "SMTPD_CONFIG";

/**
 * The configuration file a command reads: the one its flag names, else $SMTPD_CONFIG when
 * that is set and not empty, else {@link DEFAULT_CONFIG_PATH}.
 */
export function configPath(flag: string | undefined): string {
  return flag ?? (Deno.env.get(CONFIG_PATH_VARIABLE) || DEFAULT_CONFIG_PATH);
}

/**
 * The limits of one SMTP session when nothing else is said: OpenSMTPD's defaults
 * (smtpd.conf(5) `smtp max-message-size`, `smtp limit max-rcpt`, `max-mails`) and RFC 5321's.
 */
export const DEFAULT_SMTP_LIMITS = {
  /** Largest message in bytes (SIZE): 35 MB. */
  maxMessageSize: 35 * 1024 * 1024,
  /** Recipients per transaction. */
  maxRcpt: 1000,
  /** Messages per session. */
  maxMails: 100,
  /** Idle time between commands before 421 (RFC 5321 §4.5.3.2.7: at least 5 minutes). */
  idleTimeoutMs: 300_000,
  /** Idle time while message data is received (RFC 5321 §4.5.3.2.6: 3 minutes). */
  dataTimeoutMs: 180_000,
  /** Sessions open at once on one listener. */
  maxSessions: 10_000,
  /** Sessions open at once from one client address. */
  maxSessionsPerClient: 100,
  /** Wait before the greeting (`smtp greeting-delay`): none. */
  greetingDelayMs: 0,
  /**
   * Longest command line, CRLF included: RFC 5321 §4.5.3.1.4's 512 plus what the extensions
   * offered add to MAIL (RFC 3461 §4: 100 for RET/ENVID, RFC 4954 §5: 500 for AUTH=, a few
   * for SIZE, BODY and SMTPUTF8) and to RCPT (RFC 3461 §4: 500 for NOTIFY/ORCPT), rounded
   * up to one limit for every command. AUTH exchanges have their own, larger one.
   */
  commandLineMax: 2048,
  /** Longest text line, CRLF included (RFC 5321 §4.5.3.1.6). */
  textLineMax: 1000,
  /** Protocol errors tolerated before the session is closed with 421. */
  maxErrors: 10,
} as const;

/** How long one delivery attempt may wait before it is given up and tried again later. */
export const DEFAULT_DELIVERY_TIMEOUTS = {
  /** Each reply (and each write) of a relay or LMTP server (RFC 5321 §4.5.3.2: 5 minutes). */
  replyMs: 300_000,
  /** A running MDA command is killed after this long, as OpenSMTPD's. */
  mdaMs: 300_000,
} as const;

/** The aliases file newaliases(8) rebuilds when nothing names one. */
export const DEFAULT_ALIASES_PATH = "/etc/mail/aliases";

/**
 * The well-known ports (services(5)): a listener without `port` is on `smtp`, with `smtps` on
 * `smtps`; MX hosts and relay URLs are reached on them; LMTP without a port uses `lmtp`.
 */
export const WELL_KNOWN_PORTS = {
  smtp: 25,
  submission: 587,
  smtps: 465,
  lmtp: 24,
} as const;

/** OpenSMTPD's defaults for what a configuration file leaves unsaid (smtpd.conf(5)). */
export const DEFAULTS = {
  /** `smtp sub-addr-delim`. */
  subAddrDelim: "+",
  /** `queue ttl`, seconds: 4 days. */
  queueTtl: 4 * 24 * 3600,
  /** `queue path` (ours): the spool directory. */
  queuePath: "/var/spool/smtpd",
  /** `bounce warn-interval`, seconds: one warning after 4 hours. */
  bounceWarnInterval: 4 * 3600,
} as const;
