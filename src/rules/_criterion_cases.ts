// Test cases for every match criterion, by kind: how it is written, facts for which it
// holds and facts for which it fails, and for criteria with a table, the table's entries.
// Keyed by CriterionKind, so a criterion added to the grammar without cases fails to check.

import type { CriterionKind } from "../config/mod.ts";
import type { EnvelopeFacts, SessionFacts } from "./facts.ts";

/** Facts that differ from the base session and envelope of the test. */
export interface Probe {
  readonly session?: Partial<SessionFacts>;
  readonly envelope?: Partial<EnvelopeFacts>;
}

/** One way of writing a criterion, with what it must and must not match. */
export interface CriterionCase {
  /** As written in a match line; `<t>` stands for the table. */
  readonly written: string;
  /**
   * The table's entries, when `written` names one. The first is the entry the `holds`
   * probes match: a table holding only that entry must match them too.
   */
  readonly entries?: readonly string[];
  /** Probes that hold once the table has all the entries (wildcards, further entries). */
  readonly listHolds?: readonly Probe[];
  /** A regex table line that matches the `holds` probes and none of the `fails` ones. */
  readonly regex?: string;
  readonly holds: readonly Probe[];
  /** Empty only for criteria that always hold (`from any`, `for any`). */
  readonly fails: readonly Probe[];
  /** Probes that match neither the criterion nor its negation (a fact it needs is missing). */
  readonly neither?: readonly Probe[];
}

/** The base every probe starts from: a remote client with no AUTH, TLS, HELO or tag. */
export const BASE_SESSION: SessionFacts = {
  src: "203.0.113.5",
  local: false,
  socket: false,
  tls: false,
};
/** The base envelope every probe starts from. */
export const BASE_ENVELOPE: EnvelopeFacts = {
  mailFrom: "someone@client.test",
  rcptTo: "u@dest.test",
};
/** The server's own names besides localhost, for `for local`. */
export const LOCAL_NAMES: readonly string[] = ["mx.example.test"];

const SENDER_TABLE = {
  entries: ["@spam.test", "bad@example.net", "@*.junk.test"],
  regex: "@spam\\.test$",
  listHolds: [
    { envelope: { mailFrom: "Bad+x@example.net" } },
    { envelope: { mailFrom: "x@A.Junk.test" } },
  ],
  holds: [{ envelope: { mailFrom: "X@Spam.test" } }, { envelope: { mailFrom: "y+z@spam.test" } }],
  fails: [
    { envelope: { mailFrom: "x@ham.test" } },
    { envelope: { mailFrom: "" } },
    { envelope: { mailFrom: "x@junk.test" } },
  ],
};
const RECIPIENT_TABLE = {
  entries: ["postmaster@dest.test", "@other.test", "joe@*.dest.test"],
  regex: "^postmaster(\\+[^@]*)?@dest\\.test$",
  listHolds: [
    { envelope: { rcptTo: "anyone@other.test" } },
    { envelope: { rcptTo: "Joe+x@A.dest.test" } },
  ],
  holds: [
    { envelope: { rcptTo: "Postmaster@DEST.test" } },
    { envelope: { rcptTo: "postmaster+news@dest.test" } },
  ],
  fails: [
    { envelope: { rcptTo: "u@dest.test" } },
    { envelope: { rcptTo: "postmaster@far.test" } },
    { envelope: { rcptTo: "joe@b.a.dest.test" } },
    { envelope: { rcptTo: "ann@a.dest.test" } },
  ],
};
const AUTH_PLAIN = {
  holds: [{ session: { authUser: "alice" } }],
  fails: [{}],
};
// A user with an `@` is looked up as an address: `@domain` entries hold for the whole
// domain, and a bare name for that user at any domain.
const AUTH_TABLE = {
  entries: ["alice", "bob", "@example.org"],
  regex: "^ali",
  listHolds: [
    { session: { authUser: "bob" } },
    { session: { authUser: "Joe@Example.org" } },
    { session: { authUser: "bob+x@example.net" } },
  ],
  holds: [{ session: { authUser: "Alice" } }, { session: { authUser: "alice@example.net" } }],
  fails: [
    { session: { authUser: "mallory" } },
    { session: { authUser: "mallory@example.net" } },
    { session: { authUser: "joe@sub.example.org" } },
    {},
  ],
};

/** Every criterion kind with the ways it is written and tested. */
export const CRITERION_CASES: Readonly<Record<CriterionKind, readonly CriterionCase[]>> = {
  "from-any": [{ written: "from any", holds: [{}, { session: { local: true } }], fails: [] }],
  "from-local": [{
    written: "from local",
    holds: [{ session: { src: "127.0.0.1", local: true } }],
    fails: [{}, { session: { src: "127.0.0.2" } }],
  }],
  "from-socket": [{
    written: "from socket",
    holds: [{ session: { src: "local", local: true, socket: true } }],
    fails: [{}, { session: { src: "127.0.0.1", local: true } }],
  }],
  "from-src": [{
    written: "from src <t>",
    entries: ["192.0.2.0/24", "2001:db8::/32"],
    regex: "^192\\.0\\.2\\.",
    listHolds: [{ session: { src: "2001:db8::5" } }],
    holds: [{ session: { src: "192.0.2.7" } }],
    fails: [{}, { session: { src: "198.51.100.7" } }],
  }],
  "from-rdns": [
    {
      written: "from rdns",
      holds: [{ session: { rdns: "mx.client.test" } }],
      fails: [{}],
    },
    {
      written: "from rdns <t>",
      entries: ["mx.client.test", "*.relay.test"],
      regex: "^mx\\.client\\.test$",
      holds: [{ session: { rdns: "MX.Client.test" } }],
      listHolds: [{ session: { rdns: "a.Relay.test" } }],
      fails: [{ session: { rdns: "other.test" } }, { session: { rdns: "a.mx.client.test" } }],
      // OpenSMTPD: a client without rDNS matches neither `from rdns <t>` nor `! from rdns <t>`.
      neither: [{}],
    },
  ],
  "from-auth": [
    { written: "from auth", ...AUTH_PLAIN },
    { written: "from auth <t>", ...AUTH_TABLE },
  ],
  "from-mail-from": [{ written: "from mail-from <t>", ...SENDER_TABLE }],
  "for-any": [{
    written: "for any",
    holds: [{}, { envelope: { rcptTo: "x@far.test" } }],
    fails: [],
  }],
  "for-local": [{
    written: "for local",
    holds: [{ envelope: { rcptTo: "root@localhost" } }, {
      envelope: { rcptTo: "u@MX.example.test" },
    }],
    fails: [{}, { envelope: { rcptTo: "u@a.mx.example.test" } }],
  }],
  "for-domain": [{
    written: "for domain <t>",
    entries: ["dest.test", "*.wild.test"],
    regex: "^dest\\.test$",
    listHolds: [{ envelope: { rcptTo: "u@x.wild.test" } }],
    holds: [{}, { envelope: { rcptTo: "u@DEST.Test" } }],
    fails: [{ envelope: { rcptTo: "u@other.test" } }, { envelope: { rcptTo: "u@a.b.wild.test" } }],
  }],
  "for-rcpt-to": [{ written: "for rcpt-to <t>", ...RECIPIENT_TABLE }],
  "auth": [
    { written: "auth", ...AUTH_PLAIN },
    { written: "auth <t>", ...AUTH_TABLE },
  ],
  "helo": [{
    written: "helo <t>",
    entries: ["mx.client.test", "*.friend.test"],
    regex: "^mx\\.client\\.test$",
    holds: [{ session: { helo: "MX.client.test" } }],
    listHolds: [{ session: { helo: "mx.Friend.test" } }],
    fails: [{ session: { helo: "other.test" } }, {}],
  }],
  "mail-from": [{ written: "mail-from <t>", ...SENDER_TABLE }],
  "rcpt-to": [{ written: "rcpt-to <t>", ...RECIPIENT_TABLE }],
  "tag": [
    {
      written: "tag MSA",
      holds: [{ session: { tag: "MSA" } }, { session: { tag: "msa" } }],
      fails: [{ session: { tag: "other" } }, {}],
    },
    {
      written: "tag <t>",
      entries: ["msa", "dkim"],
      regex: "^msa$",
      listHolds: [{ session: { tag: "DKIM" } }],
      holds: [{ session: { tag: "MSA" } }],
      fails: [{ session: { tag: "other" } }, {}],
    },
  ],
  "tls": [{ written: "tls", holds: [{ session: { tls: true } }], fails: [{}] }],
};
