// An address as a server without SMTPUTF8 can take it: a non-ASCII domain in its A-label
// form (RFC 5890 §2.3.2.1), as Postfix sends it; a non-ASCII local part has no such form.

import { domainToASCII } from "node:url";

/**
 * The address with its domain as A-labels, or undefined when no ASCII form exists (a local
 * part beyond ASCII, or a domain IDNA refuses).
 *
 * @example
 * ```ts
 * import { asciiAddress } from "./ascii_address.ts";
 * asciiAddress("u@münchen.test"); // "u@xn--mnchen-3ya.test"
 * asciiAddress("ü@münchen.test"); // undefined
 * ```
 */
export function asciiAddress(address: string): string | undefined {
  if (!NON_ASCII_REGEXP.test(address)) return address;
  const at = address.lastIndexOf("@");
  if (at < 0) return undefined;
  const local = address.slice(0, at);
  if (NON_ASCII_REGEXP.test(local)) return undefined;
  const domain = domainToASCII(address.slice(at + 1));
  return domain === "" || NON_ASCII_REGEXP.test(domain) ? undefined : `${local}@${domain}`;
}

const NON_ASCII_REGEXP = /[^\p{ASCII}]/u;
