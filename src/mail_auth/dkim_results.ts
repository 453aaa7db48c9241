// DKIM results as this server reports them: npm:mailauth's lenient mode calls some
// signatures that failed verification `neutral`; RFC 6376 §6.1 makes them PERMFAIL, which
// RFC 8601 §2.7.1 reports as `fail`. Signatures it could not process stay `neutral`.

/** One signature's result, as npm:mailauth gives it. */
export interface DkimRow {
  readonly status?: { readonly result?: string; readonly comment?: string };
  /** The key record, when one was found. */
  readonly rr?: string;
  /** The result as Authentication-Results writes it: `dkim=RESULT (comment) …`. */
  readonly info?: string;
  /** `d=`. */
  readonly signingDomain?: string;
}

/** A signature's result and its Authentication-Results text, as reported here. */
export interface DkimReport {
  readonly result: string;
  readonly info: string;
  readonly row: DkimRow;
}

// The comments mailauth gives, with `neutral`, to a signature that was checked and failed.
const FAILED_COMMENTS = new Set([
  "body hash did not verify", // §6.1.3 step 3
  "expired", // §3.5 x=: "Signatures MAY be considered invalid"; §6.1.1 makes it PERMFAIL
]);

// §3.6.1: "An empty value means that this public key has been revoked."
const REVOKED_KEY_REGEXP = /(?:^|;)[ \t]*p[ \t]*=[ \t]*(?:;|$)/;

/** The result of one signature, `neutral` made `fail` where verification failed. */
export function reportDkim(row: DkimRow): DkimReport {
  const result = row.status?.result ?? "none";
  const info = row.info ?? `dkim=${result}`;
  if (result !== "neutral") return { result, info, row };
  const comment = row.status?.comment ?? "";
  if (FAILED_COMMENTS.has(comment)) return { result: "fail", info: relabel(info, "fail"), row };
  // §6.1.2 step 6: a revoked key is PERMFAIL (key revoked); mailauth says "invalid public key".
  if (comment === "invalid public key" && row.rr && REVOKED_KEY_REGEXP.test(row.rr)) {
    return {
      result: "fail",
      info: relabel(info, "fail").replace("(invalid public key)", "(key revoked)"),
      row,
    };
  }
  return { result, info, row };
}

function relabel(info: string, result: string): string {
  return info.replace(/^dkim=neutral/, `dkim=${result}`);
}
