// `relay backup`: which of a domain's MX hosts a backup MX may hand mail to.

import { type DeliveryResult, permfail } from "../mail/mod.ts";

/**
 * `backup`: this host is one of the domain's MX hosts (`name`); only the ones it prefers
 * over itself are tried (RFC 5321 §5.1). When it is the best, relaying would loop.
 */
export function backupHosts(
  mx: { readonly hosts: readonly string[]; readonly preferences?: readonly number[] },
  name: string,
  domain: string,
): { kind: "hosts"; hosts: readonly string[] } | DeliveryResult {
  const own = name.toLowerCase().replace(/\.$/, "");
  const index = mx.hosts.findIndex((h) => h.toLowerCase() === own);
  // Not among the MX hosts: every one of them is better placed than this host.
  if (index < 0 || !mx.preferences) return { kind: "hosts", hosts: mx.hosts };
  const ours = mx.preferences[index]!;
  const better = mx.hosts.filter((_, i) => mx.preferences![i]! < ours);
  if (better.length === 0) {
    return permfail(`5.4.6 ${own} is the best MX host of ${domain}: relaying would loop`);
  }
  return { kind: "hosts", hosts: better };
}
