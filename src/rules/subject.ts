// What the criteria read for one decision: the session's and the envelope's facts in one
// object, lower-cased and split once, so no criterion does that work again.

import type { EnvelopeFacts, SessionFacts } from "./facts.ts";
import { type AddressParts, addressParts } from "./matchers.ts";

/** The facts of one decision, as the criteria read them. */
export interface Subject {
  readonly local: boolean;
  readonly socket: boolean;
  readonly tls: boolean;
  /** The client address as given (netaddr tables parse it). */
  readonly src: string;
  readonly rdns: string | undefined;
  readonly helo: string | undefined;
  readonly authUser: string | undefined;
  /** The AUTH user split as an address, for users with an `@`. */
  readonly authUserParts: AddressParts | undefined;
  readonly tag: string | undefined;
  readonly mailFrom: string;
  readonly mailFromParts: AddressParts;
  readonly rcptTo: string;
  readonly rcptToParts: AddressParts;
  /** The recipient's domain, "" without one. */
  readonly rcptDomain: string;
}

/** The name of one fact. */
export type Fact = keyof Subject;

/** Facts that may be missing (no rDNS name, no HELO yet, no AUTH, an untagged listener). */
export const OPTIONAL_FACTS: ReadonlySet<Fact> = new Set([
  "rdns",
  "helo",
  "authUser",
  "authUserParts",
  "tag",
]);

/** Builds the facts of one decision. */
export function subjectOf(session: SessionFacts, envelope: EnvelopeFacts): Subject {
  const rcptTo = envelope.rcptTo.toLowerCase();
  const rcptToParts = addressParts(rcptTo);
  const mailFrom = envelope.mailFrom.toLowerCase();
  const authUser = session.authUser?.toLowerCase();
  return {
    local: session.local,
    socket: session.socket,
    tls: session.tls,
    src: session.src,
    rdns: session.rdns?.toLowerCase(),
    helo: session.helo?.toLowerCase(),
    authUser,
    authUserParts: authUser?.includes("@") ? addressParts(authUser) : undefined,
    tag: session.tag?.toLowerCase(),
    mailFrom,
    mailFromParts: addressParts(mailFrom),
    rcptTo,
    rcptToParts,
    rcptDomain: rcptToParts.atDomain.slice(1),
  };
}
