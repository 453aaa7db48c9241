// What a session needs from its listener: names, limits, TLS and AUTH settings, and the
// two calls out of the SMTP box (the rules' verdict on a recipient, the queue's commit).

import type { FilterSessionView, SessionFilters } from "../filters/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { RuleVerdict, SessionFacts } from "../rules/mod.ts";
import type { DataBudget } from "./data_budget.ts";
import type { SmtpLimits } from "./limits.ts";
import type { TlsContexts } from "./tls.ts";

/**
 * The client's reverse DNS name: the PTR name whether or not it resolves back (what
 * OpenSMTPD's `from rdns` and Received: use), and whether it does (`fcrdns`).
 */
export interface RdnsAnswer {
  readonly name: string;
  /** The name resolves back to the client's address (forward-confirmed). */
  readonly confirmed: boolean;
}

/** What a session needs from its listener. */
export interface SessionContext {
  readonly hostname: string;
  readonly tag?: string;
  readonly limits: SmtpLimits;
  /** What the message data of its sessions counts against (default: the process's). */
  readonly dataBudget?: DataBudget;
  decide(session: SessionFacts, envelope: { mailFrom: string; rcptTo: string }):
    | RuleVerdict
    | Promise<RuleVerdict>;
  submit(message: NewMessage): Promise<void>;
  /** A queue id no message in the queue has (default: one at random). */
  newMsgid?(): string;
  isLocalAddress(ip: string): boolean;
  /** TLS offered on this listener: STARTTLS (optional or required) or SMTPS. */
  readonly tls?: {
    readonly mode: "starttls" | "starttls-require" | "smtps";
    readonly contexts: TlsContexts;
  };
  /** SMTP AUTH on this listener: required or optional, and how credentials are checked. */
  readonly auth?: {
    readonly required: boolean;
    /** `temporary`: the credentials could not be read now (answered 454, not 535). */
    check(
      user: string,
      password: string,
    ): Promise<{ ok: boolean; reason?: string; temporary?: true }>;
    /**
     * `senders <t>`: whether the authenticated user may use this MAIL FROM; it may wait
     * for its table. A throw or rejection (the table cannot answer) is answered 451.
     */
    senderAllowed?(user: string, sender: string): boolean | Promise<boolean>;
    /** `received-auth`: name the user in Received:. */
    readonly inReceived?: boolean;
    /** `senders <t> masquerade`: From: shows the envelope sender. */
    readonly masquerade?: boolean;
  };
  /** Delay before answering a failed AUTH (default about a second, at random). */
  readonly authFailureDelayMs?: number;
  /** DSN (RFC 3461) offered; `listen … no-dsn` turns it off. Default on. */
  readonly dsn?: boolean;
  /** `listen … mask-src`: leave the client out of Received:. */
  readonly maskSource?: boolean;
  /**
   * Add Date: and Message-ID: to a message that has neither: a listener on the socket,
   * 127.0.0.1 or ::1, or on port 587 (OpenSMTPD's `listener->local || port == 587`).
   */
  readonly fillsMissingHeaders?: boolean;
  /** The local enqueuer's unix socket: clients are local, and `from socket` matches. */
  readonly unixSocket?: boolean;
  /** The client's reverse DNS name; looked up at connect when given. Never rejects. */
  resolveRdns?(ip: string): Promise<RdnsAnswer | undefined>;
  /** The listener's filter chain, opened for each session; absent: no filters. */
  openFilters?(view: FilterSessionView): SessionFilters;
  readonly log: Logger;
}
