// Opens an `ldap:` table: reads its table_ldap.c file and answers through the shared
// network table machinery (pool bound, deadline, tempfail while the server is away).

import { NetworkTable } from "./network_table.ts";
import { readNetworkLimits } from "./network_config.ts";
import { parseLdapConfig } from "./ldap_config.ts";
import { LdapBackend } from "./ldap_backend.ts";
import type { GuardLog } from "./backend_guard.ts";

/** Opens the ldap table `name` configured by the file at `path`. */
export async function openLdapTable(
  name: string,
  path: string,
  log?: GuardLog,
): Promise<NetworkTable> {
  const { config, entries } = parseLdapConfig(await Deno.readTextFile(path));
  const limits = readNetworkLimits(entries);
  const ca = config.caFile === undefined ? undefined : await Deno.readTextFile(config.caFile);
  const backend = new LdapBackend(config, limits.timeoutMs, ca);
  return new NetworkTable(name, backend, { ...limits, server: backend.server, log });
}
