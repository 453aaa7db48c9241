// An MTA-STS policy (RFC 8461 §3.2) as its text says it, and which MX hosts it allows
// (§4.1): parsing is strict, and a policy that does not parse is no policy.

/** A parsed policy. */
export interface MtaStsPolicy {
  readonly mode: "enforce" | "testing" | "none";
  /** `mx` patterns: a host name, or `*.` and a domain (one leftmost label). */
  readonly mx: readonly string[];
  /** Seconds the policy may be cached. */
  readonly maxAge: number;
  /** The `id` of the TXT record it was fetched for. */
  readonly id: string;
}

// RFC 8461 §3.2: max_age is at most 31557600 s (a year).
const MAX_AGE_LIMIT = 31_557_600;
// §3.2 sts-policy-ext-name: a letter or digit, then up to 31 of those, "_", "-" or ".".
// Unknown keys are extensions and are ignored; only a line that is no key at all fails.
const KEY_REGEXP = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** Parses a policy body; a string says why it is not a policy. */
export function parseMtaStsPolicy(text: string, id: string): MtaStsPolicy | string {
  const fields = new Map<string, string[]>();
  // RFC 8461 §3.2: lines end in CRLF or LF; each is "key: value".
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    const key = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!KEY_REGEXP.test(key)) return `not a "key: value" line: ${JSON.stringify(line)}`;
    const values = fields.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    fields.set(key, values);
  }
  if (fields.get("version")?.[0] !== "STSv1") return 'no "version: STSv1"';
  const mode = fields.get("mode")?.[0];
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") {
    return `mode ${JSON.stringify(mode ?? "")} is not enforce, testing or none`;
  }
  const age = fields.get("max_age")?.[0] ?? "";
  if (!/^\d{1,10}$/.test(age)) return `max_age ${JSON.stringify(age)} is not a number`;
  const mx = (fields.get("mx") ?? []).map((m) => m.toLowerCase().replace(/\.$/, ""));
  if (mode !== "none" && mx.length === 0) return `mode ${mode} without any mx`;
  return { mode, mx, maxAge: Math.min(Number(age), MAX_AGE_LIMIT), id };
}

/**
 * Whether an MX host is one the policy lists (RFC 8461 §4.1): the same name, or a `*.`
 * pattern whose wildcard stands for exactly one leftmost label.
 *
 * @example
 * ```ts
 * import { mxMatchesPolicy } from "./mta_sts_policy.ts";
 * const policy = { mode: "enforce", mx: ["*.example.org"], maxAge: 86400, id: "1" } as const;
 * mxMatchesPolicy("mx1.example.org", policy); // true
 * mxMatchesPolicy("a.mx1.example.org", policy); // false
 * ```
 */
export function mxMatchesPolicy(host: string, policy: Pick<MtaStsPolicy, "mx">): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return policy.mx.some((pattern) => {
    if (!pattern.startsWith("*.")) return pattern === name;
    const dot = name.indexOf(".");
    return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
  });
}
