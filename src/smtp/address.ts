// Parses the arguments of MAIL FROM and RCPT TO (RFC 5321 §4.1.2): a path in angle
// brackets, then ESMTP parameters. Syntax only; policy belongs to the rules.

import { splitAddress } from "../mail/mod.ts";
import { parseIp } from "../net/mod.ts";

/** A parsed `FROM:<path> params` or `TO:<path> params`. */
export interface PathArgument {
  /** The address, "" for the null path `<>`. */
  readonly address: string;
  /** ESMTP parameters by upper-cased keyword; a value-less keyword maps to "". */
  readonly params: ReadonlyMap<string, string>;
}

// RFC 5321 §4.1.2 Local-part: dot-atom or quoted string; atext per RFC 5322, widened by
// RFC 6531 §3.3 to UTF-8 (whether a UTF-8 address is allowed is the session's decision).
const DOT_ATOM_REGEXP =
  /^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+\/=?^_`{|}~\u0080-\uffff-]+)*$/;
const QUOTED_REGEXP = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const DOMAIN_REGEXP =
  /^[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?(?:\.[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?)*\.?$/;
// RFC 5321 §4.1.2 esmtp-value, widened by RFC 6531 §3.3 to UTF-8 (which parameter may
// hold it, and when, is for the parameter's own check).
const PARAM_REGEXP = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:=([\x21-\x3c\x3e-\x7e\u0080-\uffff]+))?$/;

/**
 * Why {@link parsePathArgument} refused its text: the path itself, a word after it that is
 * no `KEYWORD[=VALUE]`, or a keyword given twice (nothing says which value would count).
 */
export type PathSyntaxError =
  | { readonly error: "path" }
  | { readonly error: "parameter"; readonly word: string }
  | { readonly error: "repeated-parameter"; readonly keyword: string };

/** Options of {@link parsePathArgument}. */
export interface PathOptions {
  /**
   * The domain a path without one is completed with (OpenSMTPD's smtp_mailaddr(): the
   * listener's hostname), so `<root>` reads as `<root@mx.example.org>`.
   */
  readonly domain?: string;
}

/** RFC 5321 §4.5.3.1: the longest path, 256 octets including the brackets. */
export const MAX_PATH_LENGTH = 256;

/**
 * Parses `<address> [PARAM[=VALUE] ...]` after `FROM:` / `TO:`, or says what is malformed.
 * A space after the colon is tolerated (many clients send one). Source routes
 * (`<@a,@b:user@domain>`) are accepted and their route ignored (RFC 5321 §4.1.2).
 *
 * @example
 * ```ts
 * import { parsePathArgument } from "./address.ts";
 * parsePathArgument("<a@example.test> SIZE=10 SIZE=20"); // { error: "repeated-parameter", keyword: "SIZE" }
 * ```
 */
export function parsePathArgument(
  text: string,
  options: PathOptions = {},
): PathArgument | PathSyntaxError {
  const rest = text.trimStart();
  if (!rest.startsWith("<")) return BAD_PATH;
  const close = rest.indexOf(">");
  if (close === -1 || close + 1 > MAX_PATH_LENGTH) return BAD_PATH;
  let address = rest.slice(1, close);
  const route = /^@[^:]*:/.exec(address);
  if (route) address = address.slice(route[0].length);
  if (options.domain && address !== "" && !address.includes("@") && isValidLocalPart(address)) {
    address = `${address}@${options.domain}`;
  }
  if (address !== "" && !isValidMailbox(address)) return BAD_PATH;
  const params = new Map<string, string>();
  const tail = rest.slice(close + 1);
  if (tail !== "" && !tail.startsWith(" ")) return BAD_PATH;
  for (const word of tail.split(" ")) {
    if (word === "") continue;
    const m = PARAM_REGEXP.exec(word);
    if (!m) return { error: "parameter", word };
    const keyword = m[1]!.toUpperCase();
    if (params.has(keyword)) return { error: "repeated-parameter", keyword };
    params.set(keyword, m[2] ?? "");
  }
  return { address, params };
}

const BAD_PATH: PathSyntaxError = { error: "path" };

/** True for `local@domain` with a valid local part and domain (or address literal). */
export function isValidMailbox(address: string): boolean {
  const { local, domain } = splitAddress(address);
  if (local === "" || domain === "") return false;
  if (local.length > 64 || domain.length > 255) return false;
  if (!isValidLocalPart(local)) return false;
  return DOMAIN_REGEXP.test(domain) || isAddressLiteral(domain);
}

function isValidLocalPart(local: string): boolean {
  return DOT_ATOM_REGEXP.test(local) || QUOTED_REGEXP.test(local);
}

/** A HELO/EHLO argument: a domain or an address literal. */
export function isValidHelo(name: string): boolean {
  // RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
  if (name.length > MAX_DOMAIN_LENGTH || ENCODER.encode(name).length > MAX_DOMAIN_LENGTH) {
    return false;
  }
  return DOMAIN_REGEXP.test(name) || isAddressLiteral(name);
}

/**
 * An address literal (RFC 5321 §4.1.3) holding an address that parses, as OpenSMTPD's
 * valid_domainpart() reads one: `[192.0.2.1]`, `[IPv6:2001:db8::1]`, and also `[::1]`.
 * `[1.2.3]` or `[999.0.0.1]` is no literal.
 */
export function isAddressLiteral(text: string): boolean {
  if (!text.startsWith("[") || !text.endsWith("]")) return false;
  let inner = text.slice(1, -1);
  if (/^ipv6:/i.test(inner)) inner = inner.slice(5);
  return /^[0-9A-Fa-f:.]+$/.test(inner) && parseIp(inner) !== undefined;
}

const MAX_DOMAIN_LENGTH = 255;
const ENCODER = new TextEncoder();

/** True when the address has characters beyond ASCII (it needs SMTPUTF8). */
export function isUtf8Address(address: string): boolean {
  return /[\u0080-\uffff]/.test(address);
}
