// What the ruleset is asked about: facts of the session and of one envelope, and the
// verdict it gives back. Plain data, so the caller may live in another worker.

/** Facts about the SMTP session that sent the envelope. */
export interface SessionFacts {
  /** Client IP address as text (no brackets), or "local" for the local socket. */
  readonly src: string;
  /** True for the local socket and for connections from the machine's own addresses. */
  readonly local: boolean;
  /** True for the local enqueue socket (sendmail). */
  readonly socket: boolean;
  readonly rdns?: string;
  readonly helo?: string;
  readonly authUser?: string;
  readonly tls: boolean;
  /** The tag of the listener (`listen … tag T`). */
  readonly tag?: string;
}

/** Facts about one envelope: its sender and one recipient. */
export interface EnvelopeFacts {
  /** The MAIL FROM address; "" for the null sender. */
  readonly mailFrom: string;
  readonly rcptTo: string;
}

/** The outcome of evaluating the ruleset for one recipient. */
export type RuleVerdict =
  | {
    readonly kind: "accept";
    /** The name of the action that will deliver it. */
    readonly action: string;
    /** The local user it resolves to, for local actions. */
    readonly user?: string;
    /** The address to deliver to instead of the recipient (a bounce's SRS address mapped back). */
    readonly dest?: string;
    /** `match … filter NAME`: the filters the accepting rule names. */
    readonly filters?: readonly string[] | undefined;
  }
  | {
    readonly kind: "reject";
    readonly reason: string;
    /** The whole SMTP reply, when the configuration chose it (`error:` aliases). */
    readonly reply?: string;
  }
  | { readonly kind: "tempfail"; readonly reason: string; readonly reply?: string };
