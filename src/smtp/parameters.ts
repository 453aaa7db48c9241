// ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 §4.1.2): which keywords a listener
// accepts and what their values must be. The values of DSN's parameters are read by dsn.ts.

import type { PathSyntaxError } from "./address.ts";
import { REPLIES, type Reply, withText } from "./replies.ts";

/** What the listener offers that parameters depend on. */
export interface ParameterOptions {
  /** SIZE (RFC 1870): the largest message accepted. */
  readonly maxMessageSize: number;
  /** DSN (RFC 3461) offered: RET/ENVID and NOTIFY/ORCPT are accepted. */
  readonly dsn: boolean;
}

/**
 * Checks MAIL FROM's parameter keywords and values in the order given; the first bad one
 * is refused. The DSN values themselves are read by dsn.ts.
 *
 * @example
 * ```ts
 * import { checkMailParameters } from "./parameters.ts";
 * checkMailParameters(new Map([["SIZE", "1000"]]), { maxMessageSize: 100, dsn: true });
 * // { code: 552, … }
 * ```
 */
export function checkMailParameters(
  params: ReadonlyMap<string, string>,
  options: ParameterOptions,
): Reply | undefined {
  for (const [key, value] of params) {
    const refused = checkMailParameter(key, value, options);
    if (refused) return refused;
  }
  return undefined;
}

function checkMailParameter(
  key: string,
  value: string,
  options: ParameterOptions,
): Reply | undefined {
  switch (key) {
    case "SIZE": {
      if (!/^\d{1,20}$/.test(value)) return REPLIES.syntax;
      return Number(value) > options.maxMessageSize ? REPLIES.sizeExceeded : undefined;
    }
    case "BODY":
      return /^(7BIT|8BITMIME)$/i.test(value) ? undefined : REPLIES.syntax;
    case "AUTH":
      // RFC 4954 §5: accepted, and ignored without an authenticated session; xtext, so
      // ASCII.
      return /^[\x21-\x7e]+$/.test(value) ? undefined : REPLIES.syntax;
    case "SMTPUTF8":
      return value === "" ? undefined : REPLIES.syntax;
    case "RET":
    case "ENVID":
      return options.dsn ? undefined : unsupported(key);
    default:
      return unsupported(key);
  }
}

/**
 * Checks RCPT TO's parameter keywords: only DSN's NOTIFY and ORCPT exist, and only with
 * DSN on. Their values are read by dsn.ts.
 *
 * @example
 * ```ts
 * import { checkRcptParameters } from "./parameters.ts";
 * checkRcptParameters(new Map([["NOTIFY", "NEVER"]]), { dsn: false })?.code; // 555
 * ```
 */
export function checkRcptParameters(
  params: ReadonlyMap<string, string>,
  options: Pick<ParameterOptions, "dsn">,
): Reply | undefined {
  const other = [...params.keys()].find((k) => !(options.dsn && (k === "NOTIFY" || k === "ORCPT")));
  return other === undefined ? undefined : unsupported(other);
}

/**
 * The reply to parameters that do not parse: RFC 5321 §4.2.3's 501 with 5.5.4 (invalid
 * arguments), as for a bad value; the address is not to blame.
 *
 * @example
 * ```ts
 * import { refuseParameterSyntax } from "./parameters.ts";
 * refuseParameterSyntax({ error: "repeated-parameter", keyword: "SIZE" }).text; // "Repeated parameter: SIZE"
 * ```
 */
export function refuseParameterSyntax(
  error: Exclude<PathSyntaxError, { error: "path" }>,
): Reply {
  return error.error === "repeated-parameter"
    ? withText(REPLIES.syntax, `Repeated parameter: ${error.keyword}`)
    : REPLIES.syntax;
}

function unsupported(key: string): Reply {
  return withText(REPLIES.unsupportedOption, `Unsupported option: ${key}`);
}
