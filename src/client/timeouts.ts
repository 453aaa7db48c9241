// How long the client waits at each step of a dialogue: RFC 5321 §4.5.3.2's minimums for the
// commands it names, OpenSMTPD's five minutes for the rest.

/** Milliseconds the client waits at each step; any field may be overridden. */
export interface ClientTimeouts {
  /** TCP connect and a TLS handshake. */
  readonly connect: number;
  /** RFC 5321 §4.5.3.2.1: the 220 greeting, 5 minutes. */
  readonly greeting: number;
  /** EHLO/LHLO, STARTTLS, AUTH, RSET, QUIT: not named by the RFC; 5 minutes. */
  readonly command: number;
  /** §4.5.3.2.2: MAIL, 5 minutes. */
  readonly mail: number;
  /** §4.5.3.2.3: each RCPT, 5 minutes. */
  readonly rcpt: number;
  /** §4.5.3.2.4: the 354 to DATA, 2 minutes. */
  readonly dataStart: number;
  /** §4.5.3.2.5: each write of the message, 3 minutes. */
  readonly dataBlock: number;
  /** §4.5.3.2.6: the reply to the final dot, 10 minutes. */
  readonly dataEnd: number;
}

/** The RFC's values. */
export const RFC5321_TIMEOUTS: ClientTimeouts = Object.freeze({
  connect: 300_000,
  greeting: 300_000,
  command: 300_000,
  mail: 300_000,
  rcpt: 300_000,
  dataStart: 120_000,
  dataBlock: 180_000,
  dataEnd: 600_000,
});

/** Every step bounded by `ms` (tests, and callers with one budget for all). */
export function uniformTimeouts(ms: number): ClientTimeouts {
  return {
    connect: ms,
    greeting: ms,
    command: ms,
    mail: ms,
    rcpt: ms,
    dataStart: ms,
    dataBlock: ms,
    dataEnd: ms,
  };
}
