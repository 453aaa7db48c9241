// The normalized configuration model: what either grammar means, typed and read-only.
// Nothing after the parser sees tokens or syntax; every node keeps its SourcePosition.

import type { SourcePosition } from "./errors.ts";
import type { FilterDecl, IgnoredStatement, ProcDecl } from "./model_filters.ts";
import type { MtaLimitSet } from "./model_mta.ts";

export type {
  BuiltinConditionDecl,
  FilterDecl,
  FilterSpec,
  IgnoredStatement,
  ProcDecl,
} from "./model_filters.ts";

/** A reference to a declared table (inline tables get a generated, anonymous declaration). */
export interface TableRef {
  /** The table's declared name. */
  readonly name: string;
  /** Where the reference is written. */
  readonly position: SourcePosition;
}

/** Where a table's entries come from. */
export type TableSource =
  | {
    readonly kind: "list";
    readonly values: readonly string[];
    /** Where each value was written, for an error about one of them (inline lists). */
    readonly positions?: readonly SourcePosition[];
  }
  | { readonly kind: "map"; readonly entries: readonly (readonly [string, string])[] }
  | { readonly kind: "backend"; readonly backend: string; readonly config: string };

/** `table NAME …`, or an inline table written where a `<table>` was expected. */
export interface TableDecl {
  /** The table's name (generated for an inline table). */
  readonly name: string;
  /** Where its entries come from. */
  readonly source: TableSource;
  /** True for tables written inline (`{ a, b }`, `"value"`); they print inline. */
  readonly anonymous: boolean;
  /** Where the table is declared. */
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
  /** The TCP port (0: any free port, shown by the running daemon). */
  readonly port: number;
  /** `inet4` / `inet6`: only addresses of that family. */
  readonly family?: "inet4" | "inet6";
  /** `hostname NAME`: the name the listener greets with. */
  readonly hostname?: string;
  /** `hostnames <t>`: the server name per local address. */
  readonly hostnames?: TableRef;
  /** `ciphers STR`: the OpenSSL cipher list TLS sessions may use (else `smtp ciphers`). */
  readonly ciphers?: string;
  /** `protocols STR`: the libtls protocol list (`tlsv1.2,tlsv1.3`), checked when parsed. */
  readonly protocols?: string;
  /** `tag TAG`: a tag the rules can match (`match tag TAG`). */
  readonly tag?: string;
  /** How the listener offers TLS, when it does. */
  readonly tls?: ListenerTls;
  /** `tls-require verify` / `smtps verify`: client certificates are required. */
  readonly verifyClient?: boolean;
  /** `pki NAME`, possibly several (chosen by SNI). */
  readonly pki?: readonly string[];
  /** `ca NAME`: the CA client certificates are verified against. */
  readonly ca?: string;
  /** `auth [<t>]` (required) or `auth-optional [<t>]`; no table means system accounts. */
  readonly auth?: { readonly required: boolean; readonly table?: TableRef };
  /** `senders <t> [masquerade]`. */
  readonly senders?: { readonly table: TableRef; readonly masquerade: boolean };
  /** `mask-src`: the Received: header leaves out the client's address. */
  readonly maskSource?: boolean;
  /** `no-dsn`: the DSN extension is not offered. */
  readonly noDsn?: boolean;
  /** `proxy-v2`: connections start with a PROXY protocol v2 header. */
  readonly proxyV2?: boolean;
  /** `received-auth`: the Received: header names the authenticated user. */
  readonly receivedAuth?: boolean;
  /** `filter NAME` or `filter { a, b }`. */
  readonly filters?: readonly string[];
  /** Where the `listen` statement is written. */
  readonly position: SourcePosition;
}

/** `pki NAME cert|key FILE`, `pki NAME dhe …`. */
export interface PkiDecl {
  /** The pki's name, which listeners and relays refer to. */
  readonly name: string;
  /** The certificate file. */
  readonly cert?: string;
  /** The private key file. */
  readonly key?: string;
  /** `pki NAME dhe …`: Diffie-Hellman parameters. */
  readonly dhe?: "none" | "legacy" | "auto";
  /** Where the pki is first declared. */
  readonly position: SourcePosition;
}

/** `ca NAME cert FILE`. */
export interface CaDecl {
  /** The ca's name. */
  readonly name: string;
  /** The CA certificate file. */
  readonly cert: string;
  /** Where the ca is declared. */
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
  /** `smtp` (every smtp variant) or `lmtp`. */
  readonly protocol: "smtp" | "lmtp";
  /** How the connection is secured. */
  readonly security: RelaySecurity;
  /** `label@`: the key of the credentials in the `auth` table. */
  readonly label?: string;
  /** A host name or address (an `[IPv6]` literal without its brackets). */
  readonly host: string;
  /** The port (the protocol's default when the URL has none). */
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
  /** `helo NAME`: the name sent in EHLO. */
  readonly helo?: string;
  /** `helo-src <t>`: the EHLO name by source address. */
  readonly heloSrc?: TableRef;
  /** `domain <t>`: the relay host by recipient domain. */
  readonly domain?: TableRef;
  /** `tls` (required) or `tls no-verify`. */
  readonly tls?: "required" | "no-verify";
  /** `tls-policy <t>`: the TLS level by MX host or recipient domain (none … dane-only). */
  readonly tlsPolicy?: TableRef;
  /** `auth <t>`: the credentials table for relay hosts' labels. */
  readonly auth?: TableRef;
  /** `mail-from ADDRESS`: the envelope sender used. */
  readonly mailFrom?: string;
  /** `src <t>`: the local addresses connections come from. */
  readonly src?: TableRef;
  /** `pki NAME`: the client certificate. */
  readonly pki?: string;
  /** `ca NAME`: the CA relay hosts' certificates are verified against. */
  readonly ca?: string;
  /** `srs`: the sender is rewritten (Sender Rewriting Scheme). */
  readonly srs?: boolean;
  /**
   * `filter NAME` or `filter { A, B }`: in OpenSMTPD the filters that receive the report
   * events of the outbound (smtp-out) sessions. Accepted with a warning: no outbound
   * session is reported to filters here.
   */
  readonly filters?: readonly string[];
}

/** The levels a `tls-policy` table may map a destination to (Postfix's policy words). */
export const TLS_POLICY_LEVELS = ["none", "may", "encrypt", "verify", "dane", "dane-only"] as const;
/** One of {@link TLS_POLICY_LEVELS}. */
export type TlsPolicyLevel = typeof TLS_POLICY_LEVELS[number];

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
  /** The action's name, which matches refer to. */
  readonly name: string;
  /** How it delivers. */
  readonly method: DeliveryMethod;
  /** `alias <t>`: aliases(5) expansion of local recipients. */
  readonly alias?: TableRef;
  /** `virtual <t>`: virtual-domain expansion of recipients. */
  readonly virtual?: TableRef;
  /** `userbase <t>`: the users recipients are looked up in. */
  readonly userbase?: TableRef;
  /** `user NAME`: every delivery runs as this account. */
  readonly user?: string;
  /** `wrapper NAME`: an `mda wrapper` the commands run through. */
  readonly wrapper?: string;
  /** Seconds an envelope of this action may stay queued. */
  readonly ttl?: number;
  /** Where the action is declared. */
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
  /** Which criterion. */
  readonly kind: CriterionKind;
  /** Written with `!`: the criterion must not hold. */
  readonly negated: boolean;
  /** The table the criterion looks up, when it takes one. */
  readonly table?: TableRef;
  /** The table holds regular expressions (`regex` keyword). */
  readonly regex?: boolean;
  /** A literal value (the tag of `tag T`). */
  readonly value?: string;
  /** Where the criterion is written. */
  readonly position: SourcePosition;
}

/** What a match decides. */
export type Decision =
  | {
    /** Which criterion. */
    readonly kind: "action";
    readonly action: string;
    /** Where the action's name is written, for errors. */
    readonly position?: SourcePosition;
  }
  | { readonly kind: "reject" };

/** `match CRITERIA action "NAME"` or `match CRITERIA reject`. */
export interface Match {
  /** Every criterion must hold for the match to apply. */
  readonly criteria: readonly Criterion[];
  /** What the match decides when it applies. */
  readonly decision: Decision;
  /** `filter NAME` or `filter { a, b }`: filters for the recipients this rule accepts. */
  readonly filters?: readonly string[];
  /** Where the match is written. */
  readonly position: SourcePosition;
}

/** `queue …` statements. */
export interface QueueOptions {
  /** Where the queue lives (`queue path`, ours); the daemon applies defaults and SMTPD_QUEUE_DIR. */
  readonly path?: string;
  /** `queue compression`: bodies are stored deflated. */
  readonly compression: boolean;
  /** `queue encryption [KEY]`. */
  readonly encryption?: { readonly key?: string };
  /** Seconds before an undelivered envelope expires (default 4 days). */
  readonly ttl: number;
  /**
   * `queue retry [mta D] [mda D]` (ours): the base of each agent's retry schedule in
   * seconds, tries at arrival + base × n² (OpenSMTPD's compiled-in 400 s and 10 s otherwise).
   */
  readonly retry?: { readonly mta?: number; readonly mda?: number };
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
  /** `smtp sub-addr-delim C`: the character that starts a `+tag` (default `+`). */
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
  /** Macros the file defines (`name = value`), by name. */
  readonly macros: ReadonlyMap<string, string>;
  /** Every declared table, inline ones included. */
  readonly tables: readonly TableDecl[];
  /** `pki` declarations. */
  readonly pkis: readonly PkiDecl[];
  /** `ca` declarations. */
  readonly cas: readonly CaDecl[];
  /** `listen on` statements, in order. */
  readonly listeners: readonly Listener[];
  /** `action` declarations. */
  readonly actions: readonly Action[];
  /** `match` rules, in the order they are tried. */
  readonly matches: readonly Match[];
  /** `queue …` settings. */
  readonly queue: QueueOptions;
  /** `smtp …` settings. */
  readonly smtp: SmtpOptions;
  /** `bounce warn-interval D[, D…]`, seconds (default one warning after 4 hours). */
  readonly bounceWarnIntervals: readonly number[];
  /** `mta max-deferred N`. */
  readonly mtaMaxDeferred?: number;
  /** `mta limit …` and `mta rate …`: outbound connections and pace, per destination. */
  readonly mtaLimits?: MtaLimitSet;
  /** `srs key …` / `srs ttl …`. */
  readonly srs?: { readonly key?: string; readonly backupKey?: string; readonly ttl?: number };
  /** `mda wrapper NAME "CMD"`, by name. */
  readonly mdaWrappers: ReadonlyMap<string, string>;
  /** `filter` declarations. */
  readonly filters: readonly FilterDecl[];
  /** Statements accepted without effect, each warned about. */
  readonly ignored?: readonly IgnoredStatement[];
  /**
   * Names of actions whose statement was refused (present only in a file with errors):
   * a match naming one is not reported as naming an undefined action as well.
   */
  readonly refusedActions?: readonly string[];
  /** `proc` declarations. */
  readonly procs: readonly ProcDecl[];
  /** `admd AUTHSERVID`. */
  readonly admd?: string;
  /** Which rule grammar the file used. */
  readonly grammar: "modern" | "legacy";
  /** `metrics listen on ADDRESS port N` (an extension): the Prometheus endpoint. */
  readonly metrics?: MetricsEndpoint;
  /** `log format text|json` (an extension); OpenSMTPD's text lines when absent. */
  readonly logFormat?: "text" | "json";
  /** `control [socket PATH] [group NAME]` (an extension): smtpctl's socket and group. */
  readonly control?: ControlSettings;
}

/** `control socket PATH group NAME`: the socket's other name, and who may steer the daemon. */
export interface ControlSettings {
  /** An absolute path the daemon names its socket by (as root: /var/run/smtpd.sock). */
  readonly socket?: string;
  /** Members of this group may run the privileged smtpctl commands, as root may. */
  readonly group?: string;
  /** Where the statement stands in the file. */
  readonly position: SourcePosition;
}

/** Where the Prometheus text endpoint listens (`metrics listen on …`). */
export interface MetricsEndpoint {
  /** The address to listen on. */
  readonly address: string;
  /** The TCP port (9154 unless given). */
  readonly port: number;
  /** Where the statement stands in the file. */
  readonly position: SourcePosition;
}
