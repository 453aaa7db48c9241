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

/** How a listener offers TLS. */
export type ListenerTls =
  /** `tls`: STARTTLS offered. */
  | "starttls"
  /** `tls-require`: STARTTLS required before MAIL. */
  | "starttls-require"
  /** `smtps`: TLS from the first byte. */
  | "smtps";

/** `listen on ADDRESS [options]`. */
export interface Listener {
  /** An IP address, `localhost`, `all`, an interface or host name, or `socket`. */
  readonly address: string;
  /** Where the address is written (an unknown interface is reported there). */
  readonly addressPosition?: SourcePosition;
  readonly port: number;
  readonly family?: "inet4" | "inet6";
  readonly hostname?: string;
  /** `hostnames <t>`: the server name per local address. */
  readonly hostnames?: TableRef;
  readonly tag?: string;
  readonly tls?: ListenerTls;
  /** `tls-require verify` / `smtps verify`: client certificates are required. */
  readonly verifyClient?: boolean;
  /** `pki NAME`, possibly several (chosen by SNI). */
  readonly pki?: readonly string[];
  readonly ca?: string;
  /** `auth [<t>]` (required) or `auth-optional [<t>]`; no table means system accounts. */
  readonly auth?: { readonly required: boolean; readonly table?: TableRef };
  /** `senders <t> [masquerade]`. */
  readonly senders?: { readonly table: TableRef; readonly masquerade: boolean };
  readonly maskSource?: boolean;
  readonly noDsn?: boolean;
  readonly proxyV2?: boolean;
  readonly receivedAuth?: boolean;
  /** `filter NAME` or `filter { a, b }`. */
  readonly filters?: readonly string[];
  readonly position: SourcePosition;
}

/** `pki NAME cert|key FILE`, `pki NAME dhe …`. */
export interface PkiDecl {
  readonly name: string;
  readonly cert?: string;
  readonly key?: string;
  readonly dhe?: "none" | "legacy" | "auto";
  readonly position: SourcePosition;
}

/** `ca NAME cert FILE`. */
export interface CaDecl {
  readonly name: string;
  readonly cert: string;
  readonly position: SourcePosition;
}

/** `filter NAME …` and `proc NAME …` declarations, kept for the filter runtime. */
export interface FilterDecl {
  readonly name: string;
  /** `proc`, `proc-exec`, `chain`, or `phase` (a builtin filter). */
  readonly kind: "proc" | "proc-exec" | "chain" | "phase";
  /** The rest of the declaration as written, in order (normalized words). */
  readonly words: readonly string[];
  readonly position: SourcePosition;
}

/** `proc NAME "CMD" [user U] [group G] [chroot DIR]`. */
export interface ProcDecl {
  readonly name: string;
  readonly command: string;
  readonly user?: string;
  readonly group?: string;
  readonly chroot?: string;
  readonly position: SourcePosition;
}

/**
 * How a relay connection is secured: STARTTLS when offered, STARTTLS required, TLS from
 * the first byte (smtps), or never.
 */
export type RelaySecurity = "opportunistic" | "starttls" | "smtps" | "none";

/** A relay URL (`[proto://[label@]]host[:port]`), parsed when the configuration loads. */
export interface RelayTarget {
  /** The URL as written, for printing the configuration back. */
  readonly url: string;
  readonly protocol: "smtp" | "lmtp";
  readonly security: RelaySecurity;
  /** `label@`: the key of the credentials in the `auth` table. */
  readonly label?: string;
  /** A host name or address (an `[IPv6]` literal without its brackets). */
  readonly host: string;
  readonly port: number;
  /** `lmtp:///path`: a unix socket instead of host and port. */
  readonly socket?: string;
}

/** Options of the `relay` method. */
export interface RelayOptions {
  /** `host URL` (or `via URL` in the legacy grammar). */
  readonly host?: RelayTarget;
  /** `backup [mx NAME]`. */
  readonly backup?: { readonly mx?: string };
  readonly helo?: string;
  readonly heloSrc?: TableRef;
  readonly domain?: TableRef;
  /** `tls` (required) or `tls no-verify`. */
  readonly tls?: "required" | "no-verify";
  readonly auth?: TableRef;
  readonly mailFrom?: string;
  readonly src?: TableRef;
  readonly pki?: string;
  readonly ca?: string;
  readonly srs?: boolean;
}

/** How an action delivers. */
export type DeliveryMethod =
  | { readonly kind: "maildir"; readonly path?: string; readonly junk: boolean }
  | { readonly kind: "mbox" }
  | { readonly kind: "mda"; readonly command: string }
  | { readonly kind: "lmtp"; readonly destination: string; readonly rcptTo: boolean }
  | { readonly kind: "forward-only" }
  | { readonly kind: "expand-only" }
  | ({ readonly kind: "relay" } & RelayOptions);

/** `action "NAME" METHOD [options]`. */
export interface Action {
  readonly name: string;
  readonly method: DeliveryMethod;
  readonly alias?: TableRef;
  readonly virtual?: TableRef;
  readonly userbase?: TableRef;
  readonly user?: string;
  /** `wrapper NAME`: an `mda wrapper` the commands run through. */
  readonly wrapper?: string;
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
  /** `smtp ciphers STR`. */
  readonly ciphers?: string;
  /** Bytes (default 35 MB). */
  readonly maxMessageSize: number;
  /** Recipients per transaction (default 1000). */
  readonly maxRcpt: number;
  /** Messages per session (default 100). */
  readonly maxMails: number;
  readonly subAddrDelim: string;
  /** `smtp greeting-delay D` (ours): wait before the banner; a client talking first is refused. */
  readonly greetingDelay?: number;
  /**
   * `smtp timeout D` (ours): seconds a client has for each command line, each line of
   * message data and to read the replies it was sent (default 5 minutes, 3 for data).
   */
  readonly timeout?: number;
}

/** The whole configuration, as one model whatever grammar it came from. */
export interface Config {
  /** The main file it was loaded from. */
  readonly file: string;
  readonly macros: ReadonlyMap<string, string>;
  readonly tables: readonly TableDecl[];
  readonly pkis: readonly PkiDecl[];
  readonly cas: readonly CaDecl[];
  readonly listeners: readonly Listener[];
  readonly actions: readonly Action[];
  readonly matches: readonly Match[];
  readonly queue: QueueOptions;
  readonly smtp: SmtpOptions;
  /** The server name when the file sets one (legacy `hostname`). */
  readonly hostname?: string;
  /** `bounce warn-interval D[, D…]`, seconds (default one warning after 4 hours). */
  readonly bounceWarnIntervals: readonly number[];
  /** `mta max-deferred N`. */
  readonly mtaMaxDeferred?: number;
  /** `srs key …` / `srs ttl …`. */
  readonly srs?: { readonly key?: string; readonly backupKey?: string; readonly ttl?: number };
  /** `mda wrapper NAME "CMD"`, by name. */
  readonly mdaWrappers: ReadonlyMap<string, string>;
  readonly filters: readonly FilterDecl[];
  readonly procs: readonly ProcDecl[];
  /** `admd AUTHSERVID`. */
  readonly admd?: string;
  /** Which rule grammar the file used. */
  readonly grammar: "modern" | "legacy";
}
