// What a TLS decision means for one connection: the STARTTLS mode and certificate check a
// route is given before it connects, and the verdict on the session it got (DANE match,
// MTA-STS testing report) once the handshake is done.

import type { TlsSummary } from "../client/mod.ts";
import type { RelaySecurity } from "../config/mod.ts";
import { matchDane } from "./dane_match.ts";
import type { TlsDecision } from "./tls_policy.ts";

/** STARTTLS mode and WebPKI check of a decision (`tls` of the action is already in it). */
export function securityOf(decision: TlsDecision): { security: RelaySecurity; verify: boolean } {
  switch (decision.level) {
    case "none":
      return { security: "none", verify: false };
    case "may":
      return { security: "opportunistic", verify: false };
    case "verify":
      return { security: "starttls", verify: true };
    default:
      // encrypt; dane checks the certificate itself, against the TLSA records.
      return { security: "starttls", verify: false };
  }
}

/** The verdict on an established session: why it must not be used, and what to log. */
export interface TlsPolicyVerdict {
  readonly failure?: string;
  readonly note?: string;
}

/** Checks the session's TLS against the decision for its host. */
export function checkTlsDecision(
  decision: TlsDecision,
  tls: TlsSummary | undefined,
  host: string,
): TlsPolicyVerdict {
  if (decision.level === "dane") {
    // RFC 7672 §2.2: with usable TLSA records TLS is mandatory (STARTTLS is required by the
    // route's mode); the certificate must match, or the host is not used.
    if (!tls) return { failure: `4.7.5 DANE requires TLS with ${host}` };
    const verdict = matchDane(tls.chain, decision.tlsa ?? [], { names: decision.names ?? [host] });
    if (!verdict.ok) {
      return { failure: `4.7.5 DANE check of ${host} failed: ${verdict.reason}` };
    }
    return { note: `dane=${verdict.matched}` };
  }
  if (decision.testing) {
    // RFC 8461 §5: in testing mode a failure is reported, and the mail goes on as usual.
    const problem = !tls
      ? "no TLS"
      : !tls.verified
      ? `certificate not verified (${tls.verifyError ?? "untrusted"})`
      : undefined;
    if (problem) return { note: `mta-sts-testing: ${decision.testing}: ${problem}` };
    return { note: `mta-sts-testing: ${decision.testing}: ok` };
  }
  return {};
}
