// Parses the arguments of MAIL FROM and RCPT TO (RFC 5321 §4.1.2): a path in angle
// brackets, then ESMTP parameters. Syntax only; policy belongs to the rules.

import { splitAddress } from "../mail/mod.ts";

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
const LITERAL_REGEXP = /^\[(?:IPv6:[0-9A-Fa-f:.]+|[0-9.]+)\]$/;
const PARAM_REGEXP = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:=([\x21-\x3c\x3e-\x7e]+))?$/;

/** RFC 5321 §4.5.3.1: the longest path, 256 octets including the brackets. */
export const MAX_PATH_LENGTH = 256;

/**
 * Parses `<address> [PARAM[=VALUE] ...]` after `FROM:` / `TO:`; undefined when malformed.
 * A space after the colon is tolerated (many clients send one). Source routes
 * (`<@a,@b:user@domain>`) are accepted and their route ignored (RFC 5321 §4.1.2).
 */
export function parsePathArgument(text: string): PathArgument | undefined {
  const rest = text.trimStart();
  if (!rest.startsWith("<")) return undefined;
  const close = rest.indexOf(">");
  if (close === -1 || close + 1 > MAX_PATH_LENGTH) return undefined;
  let address = rest.slice(1, close);
  const route = /^@[^:]*:/.exec(address);
  if (route) address = address.slice(route[0].length);
  if (address !== "" && !isValidMailbox(address)) return undefined;
  const params = new Map<string, string>();
  const tail = rest.slice(close + 1);
  if (tail !== "" && !tail.startsWith(" ")) return undefined;
  for (const word of tail.split(" ")) {
    if (word === "") continue;
    const m = PARAM_REGEXP.exec(word);
    if (!m) return undefined;
    params.set(m[1]!.toUpperCase(), m[2] ?? "");
  }
  return { address, params };
}

/** True for `local@domain` with a valid local part and domain (or address literal). */
export function isValidMailbox(address: string): boolean {
  const { local, domain } = splitAddress(address);
  if (local === "" || domain === "") return false;
  if (local.length > 64 || domain.length > 255) return false;
  if (!DOT_ATOM_REGEXP.test(local) && !QUOTED_REGEXP.test(local)) return false;
  return DOMAIN_REGEXP.test(domain) || LITERAL_REGEXP.test(domain);
}

/** A HELO/EHLO argument: a domain or an address literal. */
export function isValidHelo(name: string): boolean {
  // RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
  if (name.length > MAX_DOMAIN_LENGTH || ENCODER.encode(name).length > MAX_DOMAIN_LENGTH) {
    return false;
  }
  return DOMAIN_REGEXP.test(name) || LITERAL_REGEXP.test(name);
}

const MAX_DOMAIN_LENGTH = 255;
const ENCODER = new TextEncoder();

/** True when the address has characters beyond ASCII (it needs SMTPUTF8). */
export function isUtf8Address(address: string): boolean {
  return /[\u0080-\uffff]/.test(address);
}
