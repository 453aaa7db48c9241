// The normalized configuration model: what either grammar means, typed and read-only.
// Nothing after the parser sees tokens or syntax; every node keeps its SourcePosition.

import type { SourcePosition } from "./errors.ts";

/** A reference to a declared table (inline tables get a generated, anonymous declaration). */
export interface TableRef {
  readonly name: string;
  readonly position: SourcePosition;
}

/** Where a table's entries come from. */
export type TableSource =
  | { readonly kind: "list"; readonly values: readonly string[] }
  | { readonly kind: "map"; readonly entries: readonly (readonly [string, string])[] }
  | { readonly kind: "backend"; readonly backend: string; readonly config: string };

/** `table NAME …`, or an inline table written where a `<table>` was expected. */
export interface TableDecl {
  readonly name: string;
  readonly source: TableSource;
  /** True for tables written inline (`{ a, b }`, `"value"`); they print inline. */
  readonly anonymous: boolean;
  readonly position: SourcePosition;
}

/** `listen on ADDRESS [port N] [hostname NAME] [tag T]`. */
export interface Listener {
  /** An IP address, `localhost`, `all`, an interface or host name, or `socket`. */
  readonly address: string;
  readonly port: number;
  readonly hostname?: string;
  readonly tag?: string;
  readonly position: SourcePosition;
}

/** How an action delivers. */
export type DeliveryMethod =
  | { readonly kind: "maildir"; readonly path?: string; readonly junk: boolean }
  | { readonly kind: "mbox" }
  | { readonly kind: "mda"; readonly command: string }
  | { readonly kind: "lmtp"; readonly destination: string; readonly rcptTo: boolean }
  | { readonly kind: "forward-only" }
  | { readonly kind: "expand-only" }
  | { readonly kind: "relay"; readonly host?: string };

/** `action "NAME" METHOD [options]`. */
export interface Action {
  readonly name: string;
  readonly method: DeliveryMethod;
  readonly alias?: TableRef;
  readonly virtual?: TableRef;
  readonly userbase?: TableRef;
  readonly user?: string;
  /** Seconds an envelope of this action may stay queued. */
  readonly ttl?: number;
  readonly position: SourcePosition;
}

/** Every criterion a `match` line may carry. */
export type CriterionKind =
  | "from-any"
  | "from-local"
  | "from-socket"
  | "from-src"
  | "from-rdns"
  | "from-auth"
  | "from-mail-from"
  | "for-any"
  | "for-local"
  | "for-domain"
  | "for-rcpt-to"
  | "auth"
  | "helo"
  | "mail-from"
  | "rcpt-to"
  | "tag"
  | "tls";

/** One criterion of a match, possibly negated with `!`. */
export interface Criterion {
  readonly kind: CriterionKind;
  readonly negated: boolean;
  /** The table the criterion looks up, when it takes one. */
  readonly table?: TableRef;
  /** The table holds regular expressions (`regex` keyword). */
  readonly regex?: boolean;
  /** A literal value (the tag of `tag T`). */
  readonly value?: string;
  readonly position: SourcePosition;
}

/** What a match decides. */
export type Decision =
  | {
    readonly kind: "action";
    readonly action: string;
    /** Where the action's name is written, for errors. */
    readonly position?: SourcePosition;
  }
  | { readonly kind: "reject" };

/** `match CRITERIA action "NAME"` or `match CRITERIA reject`. */
export interface Match {
  readonly criteria: readonly Criterion[];
  readonly decision: Decision;
  readonly position: SourcePosition;
}

/** `queue …` statements. */
export interface QueueOptions {
  /** Where the queue lives (`queue path`, ours); the daemon applies defaults and SMTPD_QUEUE_DIR. */
  readonly path?: string;
  readonly compression: boolean;
  /** `queue encryption [KEY]`. */
  readonly encryption?: { readonly key?: string };
  /** Seconds before an undelivered envelope expires (default 4 days). */
  readonly ttl: number;
}

/** `smtp …` statements. */
export interface SmtpOptions {
  /** Bytes (default 35 MB). */
  readonly maxMessageSize: number;
  /** Recipients per transaction (default 1000). */
  readonly maxRcpt: number;
  /** Messages per session (default 100). */
  readonly maxMails: number;
  readonly subAddrDelim: string;
}

/** The whole configuration, as one model whatever grammar it came from. */
export interface Config {
  /** The main file it was loaded from. */
  readonly file: string;
  readonly macros: ReadonlyMap<string, string>;
  readonly tables: readonly TableDecl[];
  readonly listeners: readonly Listener[];
  readonly actions: readonly Action[];
  readonly matches: readonly Match[];
  readonly queue: QueueOptions;
  readonly smtp: SmtpOptions;
  /** The server name when the file sets one (legacy `hostname`). */
  readonly hostname?: string;
}

/** OpenSMTPD's defaults (smtpd.conf(5)). */
export const DEFAULTS = {
  port: 25,
  maxMessageSize: 35 * 1024 * 1024,
  maxRcpt: 1000,
  maxMails: 100,
  subAddrDelim: "+",
  queueTtl: 4 * 24 * 3600,
  queuePath: "/var/spool/smtpd",
} as const;
