// The one shape every delivery backend returns (maildir, mbox, mda, lmtp, relay): it went,
// it may go later, or it never will. Whether a failure is temporary is decided here once.

/**
 * Where a relayed delivery went, for its log line (OpenSMTPD's `mta delivery … source=…
 * relay=… stat=…`): the host as `ADDRESS (NAME)`, the local address, the server's reply.
 */
export interface RelayHop {
  readonly relay: string;
  readonly source?: string;
  /** The reply that decided it (`250 2.0.0 Ok: queued as …`). */
  readonly reply?: string;
}

/** A delivery that did not happen, now or for good, with the reason a person reads. */
export type DeliveryFailure =
  | {
    readonly kind: "tempfail";
    readonly reason: string;
    /**
     * Unix ms: the envelope was held back, not tried (a destination's rate limit), and is
     * due again at this moment rather than on the retry schedule.
     */
    readonly notBefore?: number;
    readonly hop?: RelayHop;
  }
  | { readonly kind: "permfail"; readonly reason: string; readonly hop?: RelayHop };

/**
 * How one delivery to one recipient ended. A relayed message says what became of the
 * sender's DSN request (RFC 3461 §4.1): `passed` on to a server that does DSN (which
 * reports success itself), or `relayed` to one that does not (this host reports it so).
 */
export type DeliveryResult =
  | { readonly kind: "ok"; readonly dsn?: "passed" | "relayed"; readonly hop?: RelayHop }
  | DeliveryFailure;

/** The successful result. */
export const DELIVERED: DeliveryResult = Object.freeze({ kind: "ok" });

/** A failure worth another try later. */
export function tempfail(reason: string): DeliveryFailure {
  return { kind: "tempfail", reason };
}

/** A failure no retry will fix: the sender gets a report. */
export function permfail(reason: string): DeliveryFailure {
  return { kind: "permfail", reason };
}

/**
 * The failure an SMTP or LMTP reply stands for: 5yz is permanent, anything else temporary
 * (RFC 5321 §4.2.1).
 *
 * @example
 * ```ts
 * import { failureFromReply } from "./outcome.ts";
 * failureFromReply(550, "550 5.1.1 no such user").kind; // "permfail"
 * ```
 */
export function failureFromReply(code: number, reason: string): DeliveryFailure {
  return code >= 500 && code < 600 ? permfail(reason) : tempfail(reason);
}
