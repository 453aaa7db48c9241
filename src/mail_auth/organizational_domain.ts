// The organizational domain of a name (RFC 7489 §3.2): the public suffix and one label
// more, from the Public Suffix List npm:tldts carries; the name itself when it has none.

import { getDomain } from "tldts";

/** `mail.bank.example.co.uk` → `example.co.uk`; lowercased, without a final dot. */
export function organizationalDomain(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, "");
  return getDomain(lower, { allowPrivateDomains: false }) ?? lower;
}
