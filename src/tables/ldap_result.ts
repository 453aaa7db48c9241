// What an LDAP server's refusal says, in words: the result codes of RFC 4511 §4.1.9 by
// name, for the log. ldapts puts only the server's diagnostic text in its errors, which
// slapd leaves empty for a wrong bind password.

import { ResultCodeError } from "ldapts";

/** The names of the LDAP result codes (RFC 4511 appendix A, RFC 4370, RFC 3909). */
export const LDAP_RESULT_NAMES: Readonly<Record<number, string>> = {
  1: "operations error",
  2: "protocol error",
  3: "time limit exceeded",
  4: "size limit exceeded",
  7: "auth method not supported",
  8: "stronger auth required",
  10: "referral",
  11: "admin limit exceeded",
  12: "unavailable critical extension",
  13: "confidentiality required",
  14: "SASL bind in progress",
  16: "no such attribute",
  17: "undefined attribute type",
  18: "inappropriate matching",
  19: "constraint violation",
  20: "attribute or value exists",
  21: "invalid attribute syntax",
  32: "no such object",
  33: "alias problem",
  34: "invalid DN syntax",
  36: "alias dereferencing problem",
  48: "inappropriate authentication",
  49: "invalid credentials",
  50: "insufficient access rights",
  51: "busy",
  52: "unavailable",
  53: "unwilling to perform",
  54: "loop detected",
  64: "naming violation",
  65: "object class violation",
  66: "not allowed on non-leaf",
  67: "not allowed on RDN",
  68: "entry already exists",
  69: "object class modifications prohibited",
  71: "affects multiple DSAs",
  80: "other",
  118: "canceled",
  122: "assertion failed",
};

/** An LDAP operation the server refused, its result code in words. */
export class LdapRefusal extends Error {
  /** The LDAP result code (49 for invalid credentials). */
  readonly code: number;

  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "LdapRefusal";
    this.code = code;
  }
}

/**
 * `invalid credentials (LDAP 49)`, with the server's diagnostic text after a colon when
 * it gave one.
 */
export function ldapResultText(error: ResultCodeError): string {
  const name = LDAP_RESULT_NAMES[error.code] ?? "result";
  // ldapts appends " Code: 0x31" to the server's text; only the text is news.
  const diagnostic = error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, "").trim();
  return `${name} (LDAP ${error.code})${diagnostic === "" ? "" : `: ${diagnostic}`}`;
}

/** The error as an {@link LdapRefusal} saying what was refused; other errors as they are. */
export function describeLdapFailure(error: unknown, what: string): unknown {
  if (!(error instanceof ResultCodeError)) return error;
  return new LdapRefusal(`${what} refused: ${ldapResultText(error)}`, error.code, {
    cause: error,
  });
}
