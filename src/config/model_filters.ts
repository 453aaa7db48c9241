// The configuration model's filter declarations: `filter`, `proc`, builtin filter
// conditions, and statements kept only to warn that they have no effect.

import type { SourcePosition } from "./errors.ts";
import type { Config, TableRef } from "./model.ts";

/**
 * Whether filters may apply to mail submitted locally (sendmail, the offline pickup):
 * the socket listener's (`listen on socket filter …`) or a rule's (`match … filter …`).
 * Such mail must reach the running daemon, where the filters run.
 */
export function filtersLocalMail(config: Config): boolean {
  return config.listeners.some((l) => l.address === "socket" && (l.filters?.length ?? 0) > 0) ||
    config.matches.some((m) => (m.filters?.length ?? 0) > 0);
}

/** `filter NAME …` and `proc NAME …` declarations, kept for the filter runtime. */
export interface FilterDecl {
  /** The filter's name. */
  readonly name: string;
  /** `proc`, `proc-exec`, `chain`, or `phase` (a builtin filter). */
  readonly kind: "proc" | "proc-exec" | "chain" | "phase" | "dkim-sign" | "auth-verify";
  /** The rest of the declaration as written, in order (normalized words). */
  readonly words: readonly string[];
  /** What the declaration says, parsed. */
  readonly spec: FilterSpec;
  /** Where the filter is declared. */
  readonly position: SourcePosition;
}

/** A filter declaration's meaning. */
export type FilterSpec =
  | {
    readonly kind: "proc-exec";
    readonly command: string;
    readonly user?: string;
    readonly group?: string;
  }
  | { readonly kind: "proc"; readonly proc: string }
  | { readonly kind: "chain"; readonly filters: readonly string[] }
  /** `dkim-sign domain D selector S key FILE` (ours): signs mail from D. */
  | {
    readonly kind: "dkim-sign";
    readonly domain: string;
    readonly selector: string;
    /** The PEM private key file, as written (relative to the configuration's directory). */
    readonly key: string;
  }
  /** `auth-verify [reject-dmarc] [on-temperror accept|tempfail]` (ours). */
  | {
    readonly kind: "auth-verify";
    readonly rejectDmarc: boolean;
    readonly onTemperror: "accept" | "tempfail";
  }
  | {
    readonly kind: "phase";
    readonly phase: "connect" | "helo" | "ehlo" | "mail-from" | "rcpt-to" | "data" | "commit";
    readonly conditions: readonly BuiltinConditionDecl[];
    readonly decision:
      | { readonly kind: "junk" | "bypass" }
      | { readonly kind: "reject" | "disconnect"; readonly reply: string }
      | { readonly kind: "rewrite" | "report"; readonly value: string };
  };

/** One condition of a builtin filter: `[!] fcrdns`, `[!] src [regex] <t>`… */
export interface BuiltinConditionDecl {
  /** What the condition looks at. */
  readonly kind: "fcrdns" | "rdns" | "src" | "helo" | "auth" | "mail-from" | "rcpt-to";
  /** Written with `!`. */
  readonly negated: boolean;
  /** Written with `regex`: the table holds patterns. */
  readonly regex: boolean;
  /** The table the value is looked up in, when the condition takes one. */
  readonly table?: TableRef;
  /** Where it stands in the file. */
  readonly position: SourcePosition;
}

/** A statement accepted for compatibility that has no effect here (`-n` warns). */
export interface IgnoredStatement {
  /** The statement as written, e.g. `mta limit`. */
  readonly what: string;
  /** Where it stands in the file. */
  readonly position: SourcePosition;
}

/** `proc NAME "CMD" [user U] [group G] [chroot DIR]`. */
export interface ProcDecl {
  /** The proc's name. */
  readonly name: string;
  /** The command line it runs. */
  readonly command: string;
  /** The user it runs as. */
  readonly user?: string;
  /** The group it runs as. */
  readonly group?: string;
  /** The directory it is chrooted to. */
  readonly chroot?: string;
  /** Where the proc is declared. */
  readonly position: SourcePosition;
}
