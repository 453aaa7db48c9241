// Which TLS each MX host of a destination gets, and why: an entry of the action's
// `tls-policy` table first (by MX host, then domain, then parent domain), else DANE where
// the MX host has usable TLSA records, else the domain's MTA-STS policy, else the action's
// own `tls` setting. DANE takes precedence over MTA-STS (RFC 8461 §2).

import { TLS_POLICY_LEVELS, type TlsPolicyLevel } from "../config/mod.ts";
import type { Table } from "../tables/mod.ts";
import { type DeliveryFailure, tempfail } from "../mail/mod.ts";
import {
  type DaneLookupOptions,
  type DaneStatus,
  lookupDaneHost,
  mxIsSecure,
} from "./dane_lookup.ts";
import type { TlsaRecord } from "./dane_match.ts";
import { type MtaStsPolicy, mxMatchesPolicy } from "./mta_sts_policy.ts";

/** What a connection to one MX host must achieve, and where that came from. */
export interface TlsDecision {
  /**
   * none: no STARTTLS; may: opportunistic; encrypt: TLS required, any certificate;
   * verify: TLS with a certificate the trust store verifies for the host; dane: TLS with a
   * certificate one of `tlsa` matches.
   */
  readonly level: "none" | "may" | "encrypt" | "verify" | "dane";
  /** Why, for the log: the table entry, the TLSA records, the MTA-STS policy, the default. */
  readonly why: string;
  readonly tlsa?: readonly TlsaRecord[];
  /** The names a DANE-TA leaf certificate may carry (RFC 7672 §3.2.3). */
  readonly names?: readonly string[];
  /** MTA-STS `testing`: a failure to verify is logged, never enforced (RFC 8461 §5). */
  readonly testing?: string;
}

/** One MX host with its decision, or why it is skipped. */
export type HostDecision =
  | { readonly host: string; readonly decision: TlsDecision }
  | { readonly host: string; readonly skipped: string };

/** What {@link decideTls} needs besides the hosts. */
export interface TlsPolicyInput {
  /** The recipient domain. */
  readonly domain: string;
  /** The action's `tls` option: its default for hosts no other policy covers. */
  readonly actionTls?: "required" | "no-verify";
  /** The `tls-policy` table and its name. */
  readonly table?: { readonly name: string; readonly table: Table };
  readonly dns?: DaneLookupOptions;
  /** The domain's MTA-STS policy, fetched only when a host needs it. */
  readonly mtaSts?: () => Promise<MtaStsPolicy | undefined>;
}

/** Decides every MX host's TLS; a delivery failure when the table holds a bad value. */
export async function decideTls(
  hosts: readonly string[],
  input: TlsPolicyInput,
): Promise<HostDecision[] | DeliveryFailure> {
  let secure: Promise<{ secure: boolean } | { failed: string }> | undefined;
  let sts: Promise<MtaStsPolicy | undefined> | undefined;
  const decisions: HostDecision[] = [];
  for (const host of hosts) {
    const entry = tableEntry(host, input);
    if (entry && "kind" in entry) return entry;
    if (entry && entry.level !== "dane" && entry.level !== "dane-only") {
      decisions.push({ host, decision: { level: entry.level, why: entry.why } });
      continue;
    }
    secure ??= mxIsSecure(input.domain, input.dns);
    const mx = await secure;
    if ("failed" in mx) {
      // RFC 7672 §2.2.1: an MX lookup that cannot be validated defers, it never downgrades.
      return tempfail(`4.4.3 DNSSEC status of the MX records of ${input.domain}: ${mx.failed}`);
    }
    const dane: DaneStatus = mx.secure
      ? await lookupDaneHost(host, input.dns)
      : { kind: "none", reason: `the MX records of ${input.domain} are not DNSSEC-validated` };
    const via = entry ? `${entry.why}, ` : "";
    if (dane.kind === "failed") {
      decisions.push({ host, skipped: `DANE lookup failed: ${dane.reason}` });
      continue;
    }
    if (dane.kind === "dane") {
      const names = [host, input.domain].filter((n, i, all) => all.indexOf(n) === i);
      decisions.push({
        host,
        decision: { level: "dane", why: `${via}DANE: ${dane.reason}`, tlsa: dane.records, names },
      });
      continue;
    }
    if (dane.kind === "unusable") {
      decisions.push({ host, decision: { level: "encrypt", why: `${via}DANE: ${dane.reason}` } });
      continue;
    }
    if (entry?.level === "dane-only") {
      decisions.push({ host, skipped: `${entry.why} and ${dane.reason}` });
      continue;
    }
    if (entry?.level === "dane") {
      decisions.push({ host, decision: { level: "may", why: `${via}${dane.reason}` } });
      continue;
    }
    sts ??= input.mtaSts?.() ?? Promise.resolve(undefined);
    decisions.push(stsDecision(host, await sts, input, dane.reason));
  }
  return decisions;
}

// Without DANE: the MTA-STS policy, where the domain has one, else the action's default.
function stsDecision(
  host: string,
  policy: MtaStsPolicy | undefined,
  input: TlsPolicyInput,
  noDane: string,
): HostDecision {
  const base = actionDefault(input.actionTls);
  const fallback = { ...base, why: `${base.why}; ${noDane}` };
  if (!policy || policy.mode === "none") return { host, decision: fallback };
  const id = `MTA-STS ${policy.mode} policy of ${input.domain} (id ${policy.id})`;
  const listed = mxMatchesPolicy(host, policy);
  if (policy.mode === "enforce") {
    // RFC 8461 §4.1: an MX host the policy does not list is not used.
    if (!listed) return { host, skipped: `${host} is not an mx of the ${id}` };
    return { host, decision: { level: "verify", why: `${id}; ${noDane}` } };
  }
  const testing = listed ? `${id} wants a verified certificate` : `${id} does not list ${host}`;
  return { host, decision: { ...fallback, testing } };
}

function actionDefault(tls: TlsPolicyInput["actionTls"]): TlsDecision {
  if (tls === "required") return { level: "verify", why: "the action's tls" };
  if (tls === "no-verify") return { level: "encrypt", why: "the action's tls no-verify" };
  return { level: "may", why: "opportunistic" };
}

// The table's entry for the MX host, else the domain, else its parent domains (".example.org").
function tableEntry(
  host: string,
  input: TlsPolicyInput,
): { level: TlsPolicyLevel; why: string } | DeliveryFailure | undefined {
  if (!input.table) return undefined;
  const { name, table } = input.table;
  const labels = input.domain.toLowerCase().split(".");
  const keys = [
    host.toLowerCase(),
    labels.join("."),
    ...labels.slice(1).map((_, i) => `.${labels.slice(i + 1).join(".")}`),
  ];
  for (const key of keys) {
    const value = table.lookup("relayhost", key)?.trim().toLowerCase();
    if (value === undefined) continue;
    if (!(TLS_POLICY_LEVELS as readonly string[]).includes(value)) {
      return tempfail(
        `4.3.5 tls-policy table "${name}" maps ${key} to "${value}", not one of ${
          TLS_POLICY_LEVELS.join(", ")
        }`,
      );
    }
    return { level: value as TlsPolicyLevel, why: `tls-policy "${name}" ${key} ${value}` };
  }
  return undefined;
}

/** `dane (DANE: 1 usable TLSA at _25._tcp.mx.example.org)`, for the log. */
export function describeDecision(decision: TlsDecision): string {
  return `${decision.level} (${decision.why})`;
}
