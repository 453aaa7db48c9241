// How envelopes map to rows of the queue file and back: the columns every read selects,
// the row → envelope mapping, and the one builder of new envelopes (a message's own, and
// those an expansion makes), with the random ids they are named by.

import type { ListedEnvelope, NewEnvelope, QueuedEnvelope } from "./envelope.ts";

/** The columns an envelope is read from (`e`: envelopes, `m`: messages). */
export const ENVELOPE_COLUMNS = "e.evpid, e.msgid, m.sender, e.rcpt, e.action, e.user, " +
  "e.created_at, e.attempts, e.last_error, e.dsn_notify, e.dsn_orcpt, e.expires_at, " +
  "e.warned, e.dest, e.target, e.hops, e.expanded, e.last_try";

/** A row read through {@link ENVELOPE_COLUMNS}. */
export interface EnvelopeRow {
  evpid: string;
  msgid: string;
  sender: string;
  rcpt: string;
  action: string;
  user: string | null;
  created_at: number;
  attempts: number;
  last_error: string | null;
  dsn_notify: string | null;
  dsn_orcpt: string | null;
  expires_at: number;
  warned: number;
  dest: string | null;
  target: string | null;
  hops: number;
  /** A JSON array of strings, or null. */
  expanded: string | null;
  last_try: number;
}

/** A row of a listing: the envelope's columns, its state, tries, lease and source. */
export interface ListedRow extends EnvelopeRow {
  state: ListedEnvelope["state"];
  next_try: number;
  lease_owner: string | null;
  src: string;
  paused: number;
}

/** The envelope a row holds. */
export function rowToEnvelope(row: EnvelopeRow): QueuedEnvelope {
  return {
    evpid: row.evpid,
    msgid: row.msgid,
    sender: row.sender,
    rcpt: row.rcpt,
    action: row.action,
    ...(row.user === null ? {} : { user: row.user }),
    createdAt: row.created_at,
    attempts: row.attempts,
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.last_try === 0 ? {} : { lastTry: row.last_try }),
    ...(row.dsn_notify === null ? {} : { dsnNotify: row.dsn_notify.split(",") }),
    ...(row.dsn_orcpt === null ? {} : { dsnOrcpt: row.dsn_orcpt }),
    expiresAt: row.expires_at,
    warned: row.warned,
    ...(row.dest === null ? {} : { dest: row.dest }),
    ...(row.target === null ? {} : { target: row.target }),
    ...(row.hops === 0 ? {} : { hops: row.hops }),
    ...(row.expanded === null ? {} : { expanded: JSON.parse(row.expanded) as string[] }),
  };
}

/** The envelope a listing row holds, with what a listing shows. */
export function rowToListed(row: ListedRow): ListedEnvelope {
  return {
    ...rowToEnvelope(row),
    state: row.state,
    src: row.src,
    nextTry: row.next_try,
    lastTry: row.last_try,
    ...(row.lease_owner === null ? {} : { leaseOwner: row.lease_owner }),
    ...(row.paused ? { paused: true } : {}),
  };
}

/**
 * What a new envelope takes from where it comes from: its message (arrival, lifetime,
 * the recipient's DSN parameters) or, for an expansion, the envelope it replaces.
 */
export interface EnvelopeOrigin {
  readonly msgid: string;
  readonly sender: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly warned: number;
  readonly dsnNotify?: readonly string[];
  readonly dsnOrcpt?: string;
}

/**
 * A new envelope, not yet tried, under `evpid`: its message id and 8 hex digits of its own,
 * distinct within the message (`envelopeIds`).
 */
export function buildEnvelope(
  origin: EnvelopeOrigin,
  recipient: NewEnvelope,
  evpid: string,
): QueuedEnvelope {
  return {
    evpid,
    msgid: origin.msgid,
    sender: origin.sender,
    rcpt: recipient.rcpt,
    action: recipient.action,
    ...(recipient.user === undefined ? {} : { user: recipient.user }),
    ...(origin.dsnNotify === undefined ? {} : { dsnNotify: origin.dsnNotify }),
    ...(origin.dsnOrcpt === undefined ? {} : { dsnOrcpt: origin.dsnOrcpt }),
    ...(recipient.dest === undefined ? {} : { dest: recipient.dest }),
    ...(recipient.target === undefined ? {} : { target: recipient.target }),
    ...(recipient.hops === undefined ? {} : { hops: recipient.hops }),
    ...(recipient.expanded === undefined ? {} : { expanded: recipient.expanded }),
    createdAt: origin.createdAt,
    attempts: 0,
    expiresAt: origin.expiresAt,
    warned: origin.warned,
  };
}
