// Mail for virtual users, aliases and credentials stored in a real redis-server.

import { kvServersMissing, REDIS_PASSWORD, startRedis } from "../_kv_servers.ts";
import { kvSiteTests } from "./_kv_tables.ts";

const missing = kvServersMissing();
if (missing) {
  Deno.test({ name: `redis tables end to end: skipped, ${missing}`, ignore: true, fn() {} });
} else {
  kvSiteTests("redis", async () => {
    const server = await startRedis();
    return {
      backend: "redis",
      server,
      tableLines: [
        "master 127.0.0.1",
        `master_port ${server.port}`,
        `password ${REDIS_PASSWORD}`,
        "query_timeout 2s",
        "query_domain SISMEMBER domains %s",
        "query_alias LRANGE virtual:%s 0 -1",
        "query_userinfo HMGET user:%s uid gid home",
        "query_credentials HMGET user:%s login passwd",
      ],
      addDomain: async (domain) => void await server.cli("SADD", "domains", domain),
      addVirtual: async (address, targets) =>
        void await server.cli("RPUSH", `virtual:${address}`, ...targets),
      addUser: async (user, uid, gid, home, hash) =>
        void await server.cli(
          "HSET",
          `user:${user}`,
          "uid",
          uid,
          "gid",
          gid,
          "home",
          home,
          "login",
          user,
          "passwd",
          hash,
        ),
    };
  });
}
