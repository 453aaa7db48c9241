// The plain data that goes into and comes out of the queue: a message with its
// envelopes (one per recipient and action), as the SMTP side hands it over.

/** One recipient of an incoming message, as decided by the ruleset. */
export interface NewEnvelope {
  /** The envelope id (the message id and 8 hex digits of its own); the queue makes one when absent. */
  readonly evpid?: string;
  /** The recipient address as given at RCPT TO. */
  readonly rcpt: string;
  /** The name of the action that delivers it. */
  readonly action: string;
  /** The local user it resolves to, for local actions. */
  readonly user?: string;
  /** DSN NOTIFY (RFC 3461): NEVER, or any of SUCCESS, FAILURE, DELAY. */
  readonly dsnNotify?: readonly string[];
  /** DSN ORCPT: `addr-type;address`, the address decoded from its xtext (or utf-8 form). */
  readonly dsnOrcpt?: string;
  /** The address after alias or virtual expansion (`%{dest}`); the recipient when absent. */
  readonly dest?: string;
  /**
   * What expansion resolved the envelope to, so it is not expanded again: a user name,
   * `|command` or `/file`. Absent until the recipient is expanded.
   */
  readonly target?: string;
  /** How many expansions led here (aliases, .forward): loops stop at a limit. */
  readonly hops?: number;
  /**
   * What the expansion of the original recipient went through already (addresses, aliases,
   * users whose ~/.forward was read): an expansion of this envelope does not go there again,
   * as OpenSMTPD expands a recipient into one tree.
   */
  readonly expanded?: readonly string[];
}

/** A message as received, ready to be committed. */
export interface NewMessage {
  /** MAIL FROM; "" for the null sender. */
  readonly sender: string;
  /** The name the client gave at HELO/EHLO. */
  readonly helo: string;
  /** The client address ("local" for the local socket). */
  readonly src: string;
  /** The whole message: headers (with our Received: first) and body, CRLF line ends. */
  readonly content: Uint8Array;
  /** One envelope per accepted recipient and action. */
  readonly envelopes: readonly NewEnvelope[];
  /** The queue id to use; the queue makes one when absent. */
  readonly msgid?: string;
  /** DSN RET: return the full message or only its headers in a bounce. */
  readonly dsnRet?: "FULL" | "HDRS";
  /** DSN ENVID. */
  readonly dsnEnvid?: string;
  /** The transaction used SMTPUTF8 (RFC 6531). */
  readonly smtputf8?: boolean;
}

/** A queued envelope, as the scheduler sees it. */
export interface QueuedEnvelope {
  /** 16 hex digits: the message id followed by 8 of its own. */
  readonly evpid: string;
  /** 8 hex digits. */
  readonly msgid: string;
  /** The envelope sender, "" for the null sender. */
  readonly sender: string;
  /** The recipient as the client gave it. */
  readonly rcpt: string;
  /** The name of the action that delivers it. */
  readonly action: string;
  /** The local user the rules resolved the recipient to, when they did. */
  readonly user?: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  /** Delivery attempts made so far. */
  readonly attempts: number;
  /** Why the last attempt failed, when one did. */
  readonly lastError?: string;
  /** Unix milliseconds of the last attempt; absent before the first. */
  readonly lastTry?: number;
  /** DSN NOTIFY (RFC 3461): when the sender asked to be told. */
  readonly dsnNotify?: readonly string[];
  /** DSN ORCPT (RFC 3461): the original recipient. */
  readonly dsnOrcpt?: string;
  /** Unix milliseconds after which the envelope expires and is bounced (`ttl`). */
  readonly expiresAt: number;
  /** How many `bounce warn-interval` warnings were sent already. */
  readonly warned: number;
  /** The address after alias or virtual expansion (`%{dest}`); the recipient when absent. */
  readonly dest?: string;
  /**
   * What expansion resolved the envelope to, so it is not expanded again: a user name,
   * `|command` or `/file`. Absent until the recipient is expanded.
   */
  readonly target?: string;
  /** How many expansions led here (aliases, .forward): loops stop at a limit. */
  readonly hops?: number;
  /**
   * What the expansion of the original recipient went through already (addresses, aliases,
   * users whose ~/.forward was read): an expansion of this envelope does not go there again,
   * as OpenSMTPD expands a recipient into one tree.
   */
  readonly expanded?: readonly string[];
}

/** A queued envelope claimed for delivery, with the size of its message. */
export interface DueEnvelope extends QueuedEnvelope {
  /** The message's content as received, bytes: what holding it in memory takes. */
  readonly size: number;
}

/** Where an envelope is in its life. */
export type EnvelopeState =
  /** Waiting for (another) delivery attempt. */
  | "queued"
  /** Failed for good; waits for its failure report to be queued. */
  | "failed"
  /** Delivered with NOTIFY=SUCCESS; waits for its success report to be queued. */
  | "delivered";

/** A queued envelope with everything a listing shows. */
export interface ListedEnvelope extends QueuedEnvelope {
  /** Where the envelope is in its life. */
  readonly state: EnvelopeState;
  /** Where the message came from: an IP address, or "local". */
  readonly src: string;
  /** Unix milliseconds of the next attempt. */
  readonly nextTry: number;
  /** Unix milliseconds of the last attempt, 0 before the first. */
  readonly lastTry: number;
  /** The process holding the envelope for delivery, if any. */
  readonly leaseOwner?: string;
  /** Suspended by `smtpctl pause envelope`: not tried until resumed. */
  readonly paused?: true;
}
