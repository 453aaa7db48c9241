// Opens a `redis:` table: reads its table-redis(5) file and answers through the shared
// network table machinery (pool bound, deadline, tempfail while the server is away).

import { NetworkTable } from "./network_table.ts";
import { readNetworkLimits } from "./network_config.ts";
import { parseRedisConfig } from "./redis_config.ts";
import { RedisBackend } from "./redis_backend.ts";
import type { GuardLog } from "./backend_guard.ts";

/** Opens the redis table `name` configured by the file at `path`. */
export async function openRedisTable(
  name: string,
  path: string,
  log?: GuardLog,
): Promise<NetworkTable> {
  const { config, entries } = parseRedisConfig(await Deno.readTextFile(path));
  const limits = readNetworkLimits(entries);
  const backend = new RedisBackend(config, limits.timeoutMs);
  return new NetworkTable(name, backend, { ...limits, server: backend.server, log });
}
