// The one hook point between an SMTP session and a filter in its chain: what a filter is
// asked (smtpd-filters(7) phases), what it is told (report events), what it answers.
//
// A filter is anything that implements `ChainFilter`: the builtin `phase` filters
// (builtin.ts), a proc-exec process speaking the smtpd-filters(7) line protocol
// (proc_filter.ts), or a TypeScript object written against this file alone, for example
// a DKIM signer. To add one:
//
//   const signer: ChainFilter = {
//     name: "dkim", kind: "builtin",
//     phases: new Set(["data-line"]), reports: new Set(),
//     open: (link) => ({
//       report() {},
//       query: () => Promise.resolve(PROCEED),
//       dataLines: (lines) => Promise.resolve([signatureHeader(lines), ...lines]),
//       close() {},
//     }),
//   };
//
// and register it by name (FilterSet's `extra` option), so `filter NAME …`, chains,
// `listen … filter` and `match … filter` can name it. The session calls `open` once per
// connection, `report` for every event in `reports`, `query` for every phase in `phases`
// (one at a time per session, in protocol order), `dataLines` once per message when
// "data-line" is in `phases`, and `close` at disconnect. A promise that rejects (a process
// that died, a timeout) fails the session closed: 421 before DATA, 451 after, never an
// unfiltered message.

/** The phases a filter may be asked about (smtpd-filters(7) FILTER REQUESTS). */
export type FilterPhase =
  | "connect"
  | "helo"
  | "ehlo"
  | "starttls"
  | "auth"
  | "mail-from"
  | "rcpt-to"
  | "data"
  | "data-line"
  | "rset"
  | "quit"
  | "noop"
  | "help"
  | "wiz"
  | "commit";

/** Every phase, in the order a session meets them. */
export const FILTER_PHASES: readonly FilterPhase[] = [
  "connect",
  "helo",
  "ehlo",
  "starttls",
  "auth",
  "mail-from",
  "rcpt-to",
  "data",
  "data-line",
  "rset",
  "quit",
  "noop",
  "help",
  "wiz",
  "commit",
];

/** The report events of smtpd-filters(7) REPORT EVENTS. */
export const REPORT_EVENTS: readonly string[] = [
  "link-connect",
  "link-greeting",
  "link-identify",
  "link-tls",
  "link-auth",
  "link-disconnect",
  "link-reset",
  "tx-reset",
  "tx-begin",
  "tx-mail",
  "tx-rcpt",
  "tx-envelope",
  "tx-data",
  "tx-commit",
  "tx-rollback",
  "protocol-client",
  "protocol-server",
  "filter-report",
  "filter-response",
  "timeout",
];

/** A filter's answer to one query (smtpd-filters(7) and smtpd.conf(5) decisions). */
export type FilterDecision =
  | { readonly kind: "proceed" }
  /** Builtin only: the rest of the chain is skipped for this phase. */
  | { readonly kind: "bypass" }
  | { readonly kind: "junk" }
  | { readonly kind: "reject"; readonly reply: string }
  | { readonly kind: "disconnect"; readonly reply: string }
  | { readonly kind: "rewrite"; readonly value: string }
  | { readonly kind: "report"; readonly value: string };

/** The decision that lets the session go on. */
export const PROCEED: FilterDecision = { kind: "proceed" };

/** What a filter knows of the session it is opened for; the fields fill in as it goes. */
export interface FilterSessionView {
  /** 16 hex digits, as the protocol's session id. */
  readonly id: string;
  readonly src: string;
  readonly rdns?: string | undefined;
  /** Forward-confirmed reverse DNS. */
  readonly fcrdns: boolean;
  readonly helo?: string | undefined;
  readonly authUser?: string | undefined;
  readonly mailFrom?: string | undefined;
  /** The recipients accepted so far in this transaction. */
  readonly rcptTo: readonly string[];
}

/** One filter's state for one session. */
export interface FilterLink {
  /** A report event (only those the filter listed in `reports`). */
  report(event: string, params: readonly string[]): void;
  /** A filter request: resolves with the decision, rejects when the filter failed. */
  query(phase: FilterPhase, params: readonly string[]): Promise<FilterDecision>;
  /**
   * The message's lines (without line ends, not dot-stuffed), returned as the filter
   * wants them queued. Only called when "data-line" is in `phases`.
   */
  dataLines?(lines: readonly string[]): Promise<readonly string[]>;
  /** The session ended. */
  close(): void;
}

/** A filter that can sit in a chain. */
export interface ChainFilter {
  readonly name: string;
  /** `builtin` or `proc`, as `filter-report` names it. */
  readonly kind: "builtin" | "proc";
  /** The phases it is queried for. */
  readonly phases: ReadonlySet<FilterPhase>;
  /** The report events it wants. */
  readonly reports: ReadonlySet<string>;
  /** Opens the filter's state for a new session. */
  open(session: FilterSessionView): FilterLink;
}
