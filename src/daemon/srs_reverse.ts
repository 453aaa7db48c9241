// The way back for SRS (smtpd.conf(5) `srs key`): a bounce (null sender) to an SRS0= or
// SRS1= address is checked against the keys and, when its hash and day hold, routed to
// the address it stands for as if submitted locally (OpenSMTPD's lka_session.c); a forged
// or expired one is refused at RCPT.

import type { Config } from "../config/mod.ts";
import { splitAddress } from "../mail/mod.ts";
import { isSrsAddress, srsDecode, type SrsKeys } from "../relay/mod.ts";
import type { EnvelopeFacts, RuleVerdict, SessionFacts } from "../rules/mod.ts";
import { LOCAL_SESSION } from "./queue_setup.ts";

type Decide = (session: SessionFacts, envelope: EnvelopeFacts) => RuleVerdict;

/** The SRS keys of a configuration, or undefined when it has no `srs key`. */
export function srsKeysOf(config: Config): SrsKeys | undefined {
  const srs = config.srs;
  if (srs?.key === undefined) return undefined;
  return {
    key: srs.key,
    ...(srs.backupKey === undefined ? {} : { backupKey: srs.backupKey }),
    ...(srs.ttl === undefined ? {} : { ttlDays: Math.floor(srs.ttl / 86400) }),
  };
}

/** `decide` with SRS bounces mapped back; the same `decide` without `srs key`. */
export function withSrsReverse(decide: Decide, keys: SrsKeys | undefined): Decide {
  if (!keys) return decide;
  return (session, envelope) => {
    const { local } = splitAddress(envelope.rcptTo);
    if (envelope.mailFrom !== "" || !isSrsAddress(local)) return decide(session, envelope);
    const original = srsDecode(envelope.rcptTo, keys);
    if (original === undefined) {
      return {
        kind: "reject",
        reason: "SRS address with a bad hash or out of date",
        reply: "550 5.1.1 Invalid SRS address: bad hash or expired",
      };
    }
    const verdict = decide(LOCAL_SESSION, { mailFrom: "", rcptTo: original });
    return verdict.kind === "accept" ? { ...verdict, dest: original } : verdict;
  };
}
