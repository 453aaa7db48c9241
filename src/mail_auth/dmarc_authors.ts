// DMARC for every author of a message (RFC 7489 §6.6.1): npm:mailauth checks only a
// message with one From: field naming one domain; here a From: with several domains has
// each checked, the strictest result winning, and a message with no From: field, or more
// than one, is a permerror, which `reject-dmarc` refuses.

/** A DMARC result as npm:mailauth gives it. */
export interface DmarcRow {
  readonly status?: { readonly result?: string };
  readonly info?: string;
  readonly policy?: string;
  readonly domain?: string;
}

/** What DMARC says about the message's authors. */
export interface DmarcOutcome {
  /** The strictest result. */
  readonly result: string;
  /** Its policy, for a fail. */
  readonly policy?: string;
  /** Its domain. */
  readonly domain?: string;
  /** Why DMARC could not check the message, for a permerror. */
  readonly problem?: string;
  /** One Authentication-Results text per author domain (or the permerror). */
  readonly texts: readonly string[];
}

/** The From: field(s) as the DKIM verifier read them, and how to check one domain. */
export interface DmarcAuthors {
  /** The addresses of every From: field. */
  readonly addresses: readonly string[];
  /** How many From: fields there are. */
  readonly fields: number;
  /** DMARC for the addresses of one domain (false: mailauth could not check them). */
  readonly check: (addresses: readonly string[]) => Promise<DmarcRow | false>;
}

const POLICY_RANK: Record<string, number> = { none: 0, quarantine: 1, reject: 2 };
// Among results that are not fail: the one that says least in the message's favour.
const RESULT_RANK: Record<string, number> = { pass: 0, none: 1, temperror: 2 };

/** Checks DMARC for each author domain and picks the strictest result. */
export async function checkDmarcAuthors(authors: DmarcAuthors): Promise<DmarcOutcome> {
  // RFC 5322 §3.6: exactly one From: field; RFC 7489 §6.6.1: other messages are typically
  // rejected.
  if (authors.fields !== 1) {
    return permerror(authors.fields === 0 ? "no From: field" : `${authors.fields} From: fields`);
  }
  const byDomain = new Map<string, string[]>();
  for (const address of authors.addresses) {
    const at = address.lastIndexOf("@");
    const domain = address.slice(at + 1).trim().toLowerCase().replace(/\.$/, "");
    if (at < 0 || domain === "") return permerror("a From: address without a domain");
    byDomain.set(domain, [...byDomain.get(domain) ?? [], address]);
  }
  if (byDomain.size === 0) return permerror("no address in From:");
  const rows: DmarcRow[] = [];
  for (const addresses of byDomain.values()) {
    const row = await authors.check(addresses);
    if (!row) return permerror("a From: address without a domain");
    rows.push(row);
  }
  const strictest = rows.reduce((a, b) => rank(b) > rank(a) ? b : a);
  return {
    result: strictest.status?.result ?? "none",
    ...(strictest.policy ? { policy: strictest.policy } : {}),
    ...(strictest.domain ? { domain: strictest.domain } : {}),
    texts: rows.flatMap((r) => r.info ? [r.info] : []),
  };
}

// A fail outranks every other result, and among fails the stronger policy wins.
function rank(row: DmarcRow): number {
  const result = row.status?.result ?? "none";
  if (result === "fail") return 10 + (POLICY_RANK[row.policy ?? "none"] ?? 0);
  return RESULT_RANK[result] ?? 1;
}

function permerror(problem: string): DmarcOutcome {
  return { result: "permerror", problem, texts: [`dmarc=permerror (${problem})`] };
}
