// The one definition of every match criterion: the fact it reads, the table(5) service its
// table is asked with, and what it tests when it names no table. Compiling (criterion.ts)
// follows these entries and nothing else, as OpenSMTPD's ruleset_match_<x>() share a shape.

import type { CriterionKind } from "../config/mod.ts";
import type { TableService } from "../tables/mod.ts";
import type { Fact } from "./subject.ts";

/**
 * What a criterion without a table tests: `always` holds, `never` fails (the grammar gives
 * these criteria a table), `flag` is the boolean fact, `present` holds when the fact is
 * known, `literal` compares it with the value written (`tag T`), `local-domain` looks it
 * up among the server's own names.
 */
export type WithoutTable = "always" | "never" | "flag" | "present" | "literal" | "local-domain";

/** How one criterion is decided. */
export interface CriterionDefinition {
  /** The fact the criterion reads. */
  readonly reads: Fact;
  /** The table(5) service its table is consulted for; absent when it takes no table. */
  readonly service?: TableService;
  /** For `mailaddr` tables copied in memory: the fact split into address parts. */
  readonly parts?: Fact;
  /**
   * When the fact holds an `@`, its table is asked as `mailaddr` with these parts, so an
   * `@domain` entry matches every user of the domain (OpenSMTPD's ruleset_match_smtp_auth).
   */
  readonly asAddress?: Fact;
  /**
   * With a table, a missing fact fails the criterion negated too: OpenSMTPD's
   * ruleset_match_from returns before the negation for a client without rDNS.
   */
  readonly tableNeedsFact?: true;
  readonly withoutTable: WithoutTable;
}

/** Every criterion of smtpd.conf(5) `match`, by kind. */
export const CRITERIA: Readonly<Record<CriterionKind, CriterionDefinition>> = {
  "from-any": { reads: "src", withoutTable: "always" },
  "from-local": { reads: "local", withoutTable: "flag" },
  "from-socket": { reads: "socket", withoutTable: "flag" },
  "from-src": { reads: "src", service: "netaddr", withoutTable: "never" },
  "from-rdns": { reads: "rdns", service: "domain", tableNeedsFact: true, withoutTable: "present" },
  "from-auth": {
    reads: "authUser",
    service: "string",
    asAddress: "authUserParts",
    withoutTable: "present",
  },
  "from-mail-from": {
    reads: "mailFrom",
    service: "mailaddr",
    parts: "mailFromParts",
    withoutTable: "never",
  },
  "for-any": { reads: "rcptTo", withoutTable: "always" },
  "for-local": { reads: "rcptDomain", withoutTable: "local-domain" },
  "for-domain": { reads: "rcptDomain", service: "domain", withoutTable: "never" },
  "for-rcpt-to": {
    reads: "rcptTo",
    service: "mailaddr",
    parts: "rcptToParts",
    withoutTable: "never",
  },
  "auth": {
    reads: "authUser",
    service: "string",
    asAddress: "authUserParts",
    withoutTable: "present",
  },
  "helo": { reads: "helo", service: "domain", withoutTable: "never" },
  "mail-from": {
    reads: "mailFrom",
    service: "mailaddr",
    parts: "mailFromParts",
    withoutTable: "never",
  },
  "rcpt-to": { reads: "rcptTo", service: "mailaddr", parts: "rcptToParts", withoutTable: "never" },
  "tag": { reads: "tag", service: "string", withoutTable: "literal" },
  // OpenSMTPD 6.8 answers tempfail here ("not until TLS flag is added"); the session knows.
  "tls": { reads: "tls", withoutTable: "flag" },
};

/** The table(5) service each criterion consults its table for. */
export const CRITERION_SERVICES: Readonly<Partial<Record<CriterionKind, TableService>>> = Object
  .fromEntries(
    Object.entries(CRITERIA).flatMap(([kind, d]) => d.service ? [[kind, d.service]] : []),
  );
