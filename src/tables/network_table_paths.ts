// What a network table's configuration names on this machine besides itself: files its
// client reads (an ldap table's `ca_file`) and unix sockets it connects to (a mysql
// `socket`, a redis `unix:` master or slave, a postgres `host=/dir`), for the permissions
// of a process that opens the table. The backends themselves read the same keys.

import { resolve } from "node:path";
import { parseLdapConfig } from "./ldap_config.ts";
import { parseConfigEntries } from "./network/network_config.ts";
import { parseConninfo } from "./postgres_conninfo.ts";
import { parseRedisConfig, type RedisAddress } from "./redis_config.ts";

/** The files and unix sockets a table's configuration names (absolute paths). */
export interface NetworkTablePaths {
  readonly files: readonly string[];
  readonly sockets: readonly string[];
}

const NONE: NetworkTablePaths = { files: [], sockets: [] };

/**
 * The paths the configuration text of a `postgres:`, `mysql:`, `redis:` or `ldap:` table
 * names; none for other backends. A configuration that does not parse names none: the
 * table reports it as it opens.
 */
export function networkTablePaths(backend: string, text: string): NetworkTablePaths {
  try {
    switch (backend) {
      case "mysql": {
        const socket = parseConfigEntries(text).get("socket")?.value;
        return { files: [], sockets: socket === undefined ? [] : [resolve(socket)] };
      }
      case "postgres": {
        const conninfo = parseConfigEntries(text).get("conninfo");
        if (!conninfo) return NONE;
        // libpq: a host that starts with "/" is the directory of the server's socket.
        const { host, port } = parseConninfo(conninfo.value);
        return { files: [], sockets: host.startsWith("/") ? [`${host}/.s.PGSQL.${port}`] : [] };
      }
      case "redis": {
        const { master, slave } = parseRedisConfig(text).config;
        return { files: [], sockets: [master, slave].flatMap(socketOf) };
      }
      case "ldap": {
        const { caFile } = parseLdapConfig(text).config;
        return { files: caFile === undefined ? [] : [resolve(caFile)], sockets: [] };
      }
    }
  } catch {
    // The table says what is wrong with its file when it is opened.
  }
  return NONE;
}

function socketOf(address: RedisAddress | undefined): string[] {
  return address && "path" in address ? [resolve(address.path)] : [];
}
