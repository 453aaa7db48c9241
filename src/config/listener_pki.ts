// Which certificates a TLS listener presents: the pki names it gives, else the pki named
// after its host name, else the catch-all pki "*" (smtpd.conf(5) pki; smtp_cert_init).

import type { Config, Listener } from "./model.ts";

/**
 * The pki names a listener presents. Without `pki`, OpenSMTPD looks up the pki named
 * after the name the listener greets with (its `hostname`, else the server's name),
 * case-insensitively, then the pki "*"; none found gives an empty list.
 */
export function listenerPkiNames(
  config: Pick<Config, "pkis">,
  listener: Pick<Listener, "pki" | "hostname">,
  serverName?: string,
): readonly string[] {
  if (listener.pki?.length) return listener.pki;
  const wanted = (listener.hostname ?? serverName)?.toLowerCase();
  const byName = wanted === undefined
    ? undefined
    : config.pkis.find((p) => p.name.toLowerCase() === wanted);
  const chosen = byName ?? config.pkis.find((p) => p.name === "*");
  return chosen ? [chosen.name] : [];
}
