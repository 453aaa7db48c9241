// The redis table against a real redis-server: the table contract, live changes, a wrong
// password, a frozen server, the slave, and the table-redis(5) file reader.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { freePort, waitFor } from "../../test/_helpers.ts";
import { kvServersMissing, REDIS_PASSWORD, startRedis } from "../../test/_kv_servers.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { withTableLookups } from "./network/lookup_scope.ts";
import { openRedisTable } from "./redis.ts";
import { parseRedisConfig } from "./redis_config.ts";

const missing = kvServersMissing();
type Redis = Awaited<ReturnType<typeof startRedis>>;
let server: Promise<Redis> | undefined;
const redis = () => server ??= startRedis();
let tables = 0;

async function configFile(lines: string[]): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "redis-table-", suffix: ".conf" });
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** Stores the contract's contents the way table-redis(5)'s examples do, in database 3. */
async function makeTable(name: string, contents: ContractContents) {
  const r = await redis();
  const p = `t${++tables}:`;
  const cli = (...args: string[]) => r.cli("-n", "3", ...args);
  const lines = [
    `master 127.0.0.1`,
    `master_port ${r.port}`,
    `password ${REDIS_PASSWORD}`,
    "database 3",
  ];
  const keys = contents.entries.map(([k]) => k.toLowerCase());
  if (name === "domains") {
    await cli("SADD", `${p}domains`, ...keys);
    lines.push(`query_domain SISMEMBER ${p}domains %s`);
  } else if (name === "addresses") {
    await cli("SADD", `${p}mailaddr`, ...keys);
    lines.push(`query_mailaddr SISMEMBER ${p}mailaddr %s`);
  } else if (name === "networks") {
    for (const key of keys) await cli("SET", `${p}netaddr:${key}`, key);
    lines.push(`query_netaddr GET ${p}netaddr:%s`, `query_source GET ${p}netaddr:%s`);
  } else if (name === "maps") {
    for (const [key, value] of contents.entries) {
      const k = key.toLowerCase();
      if (value.includes("@")) await cli("RPUSH", `${p}senders:${k}`, ...value.split(", "));
      else await cli("SET", `${p}addrname:${k}`, value);
    }
    lines.push(
      `query_mailaddrmap LRANGE ${p}senders:%s 0 -1`,
      `query_addrname GET ${p}addrname:%s`,
    );
  } else if (name === "tags") {
    // table-redis has no string service: the contract skips what the table cannot serve.
    lines.push(`query_domain SISMEMBER ${p}tags %s`);
  } else {
    for (const [key, value] of contents.entries) {
      const parts = value.split(":");
      const k = key.toLowerCase();
      if (parts.length === 3) {
        await cli("HSET", `${p}user:${k}`, "uid", parts[0]!, "gid", parts[1]!, "home", parts[2]!);
      } else if (parts.length === 2) {
        await cli("HSET", `${p}user:${k}`, "login", parts[0]!, "passwd", parts[1]!);
      } else {
        await cli("RPUSH", `${p}aliases:${k}`, ...value.split(", "));
      }
    }
    lines.push(
      `query_alias LRANGE ${p}aliases:%s 0 -1`,
      `query_userinfo HMGET ${p}user:%s uid gid home`,
      `query_credentials HMGET ${p}user:%s login passwd`,
    );
  }
  return await openRedisTable(name, await configFile(lines));
}

if (missing) {
  Deno.test({ name: `redis table: skipped, ${missing}`, ignore: true, fn() {} });
} else {
  runTableContract("redis", makeTable, { listsKeys: false, senderMaps: true });

  Deno.test("redis table: a key added or removed is seen by the next lookup", async () => {
    const r = await redis();
    const path = await configFile([
      `master_port ${r.port}`,
      `password ${REDIS_PASSWORD}`,
      "query_domain SISMEMBER live:domains %s",
      "query_alias LRANGE live:aliases:%s 0 -1",
    ]);
    const table = await openRedisTable("live", path);
    try {
      const domain = () => withTableLookups(() => table.match("domain", "new.example"));
      assertEquals(await domain(), false);
      await r.cli("SADD", "live:domains", "new.example");
      assertEquals(await domain(), true);
      await r.cli("RPUSH", "live:aliases:sales", "ann", "bob");
      assertEquals(await withTableLookups(() => table.lookup("alias", "Sales")), "ann, bob");
      await r.cli("SREM", "live:domains", "new.example");
      assertEquals(await domain(), false);
    } finally {
      table.close();
    }
  });

  Deno.test("redis table: a wrong password fails the lookup temporarily, never as a miss", async () => {
    const r = await redis();
    const path = await configFile([
      `master_port ${r.port}`,
      "password wrong",
      "query_domain SISMEMBER d %s",
    ]);
    const table = await openRedisTable("badpass", path);
    try {
      await assertRejects(
        async () => await withTableLookups(() => table.match("domain", "example.org")),
        Error,
        'Table "badpass": redis 127.0.0.1:',
      );
    } finally {
      table.close();
    }
  });

  Deno.test("redis table: a server that stops answering fails the lookup at the deadline", async () => {
    const r = await redis();
    const path = await configFile([
      `master_port ${r.port}`,
      `password ${REDIS_PASSWORD}`,
      "query_timeout 300ms",
      "query_domain SISMEMBER slow:domains %s",
    ]);
    const table = await openRedisTable("slow", path);
    try {
      await r.cli("SADD", "slow:domains", "example.org");
      const domain = async () => await withTableLookups(() => table.match("domain", "example.org"));
      assertEquals(await domain(), true);
      try {
        await r.pause();
        await assertRejects(domain, Error, 'Table "slow": redis 127.0.0.1:');
        await assertRejects(domain, Error, "within 300 ms");
      } finally {
        r.resume();
      }
      await waitFor(
        "the table to answer again",
        async () => (await domain().catch(() => false)) ? true : undefined,
      );
    } finally {
      table.close();
    }
  });

  Deno.test("redis table: a command that runs past query_timeout fails the lookup at the deadline", async () => {
    const r = await redis();
    // A script that keeps the server busy for three seconds whenever the key is "slow.example".
    const sha = (await r.cli(
      "SCRIPT",
      "LOAD",
      "if ARGV[1] == 'slow.example' then local t = redis.call('TIME')[1] * 1000000 + " +
        "redis.call('TIME')[2] while redis.call('TIME')[1] * 1000000 + redis.call('TIME')[2] " +
        "- t < 3000000 do end end return redis.call('SISMEMBER', 'busy:domains', ARGV[1])",
    )).trim();
    await r.cli("SADD", "busy:domains", "example.org", "slow.example");
    const path = await configFile([
      `master_port ${r.port}`,
      `password ${REDIS_PASSWORD}`,
      "query_timeout 300ms",
      `query_domain EVALSHA ${sha} 0 %s`,
    ]);
    const table = await openRedisTable("busy", path);
    try {
      const domain = async (d: string) => await withTableLookups(() => table.match("domain", d));
      assertEquals(await domain("example.org"), true);
      const asked = performance.now();
      await assertRejects(() => domain("slow.example"), Error, "did not answer within 300 ms");
      assertEquals(performance.now() - asked < 2_500, true, "failed at the deadline");
      await waitFor(
        "the table to answer once the script is done",
        async () => (await domain("example.org").catch(() => false)) ? true : undefined,
      );
    } finally {
      table.close();
    }
  });

  Deno.test("redis table: the slave answers while the master cannot be reached", async () => {
    const r = await redis();
    await r.cli("SADD", "replica:domains", "example.org");
    const path = await configFile([
      `master 127.0.0.1`,
      `master_port ${freePort()}`,
      "slave 127.0.0.1",
      `slave_port ${r.port}`,
      `password ${REDIS_PASSWORD}`,
      "query_domain SISMEMBER replica:domains %s",
    ]);
    const table = await openRedisTable("replica", path);
    try {
      assertEquals(await withTableLookups(() => table.match("domain", "example.org")), true);
      assertEquals(await withTableLookups(() => table.match("domain", "example.net")), false);
    } finally {
      table.close();
    }
  });

  Deno.test("redis table: the last test stops the server", async () => {
    if (server) await (await server)[Symbol.asyncDispose]();
  });
}

Deno.test("parseRedisConfig() reads table-redis(5) files and names the line of a mistake", () => {
  const { config } = parseRedisConfig(
    "# comment\nmaster 10.0.0.1\nmaster_port: 6390\nslave unix:/run/redis.sock\ndatabase 2\n" +
      "password s3cret\nquery_alias LRANGE aliases:%s 0 -1\n",
  );
  assertEquals(config.master, { host: "10.0.0.1", port: 6390 });
  assertEquals(config.slave, { path: "/run/redis.sock" });
  assertEquals(config.database, 2);
  assertEquals(config.password, "s3cret");
  assertEquals([...config.queries.keys()], ["alias"]);
  assertEquals(config.queries.get("alias"), ["LRANGE", "aliases:%s", "0", "-1"]);
  const defaults = parseRedisConfig("").config;
  assertEquals(defaults.master, { host: "127.0.0.1", port: 6379 });
  assertEquals(defaults.queries.get("domain"), ["GET", "domain:%s"]);
  assertEquals(defaults.queries.size, 8);
  for (
    const [text, error] of [
      ["master_port 70000\n", 'line 1: master_port: "70000" is not a number from 1 to 65535'],
      ["\nquery_domain SISMEMBER domains\n", "line 2: query_domain: the command has no %s"],
      ["database 1\ndatabase 2\n", 'line 2: "database" is given again'],
      ["qurey_alias GET %s\n", 'line 1: unknown key "qurey_alias"'],
    ] as const
  ) {
    let message = "";
    try {
      parseRedisConfig(text);
    } catch (e) {
      message = String(e);
    }
    assertEquals(message.includes(error), true, `${JSON.stringify(text)} gave ${message}`);
  }
});
