// Lookups per second and RCPT latency of the network tables (redis:, ldap:) beside a
// `db:` table with the same entries, each against a real server started for the run.
//
//   deno run -A bench/network_lookup.ts [ENTRIES] [LOOKUPS]

import { loadConfig, startDaemon } from "../mod.ts";
import { DbTable, type Table, withTableLookups, writeDbTable } from "../src/tables/mod.ts";
import { SILENT_LOGGER } from "../src/log/mod.ts";
import { openRedisTable } from "../src/tables/redis.ts";
import { openLdapTable } from "../src/tables/ldap.ts";
import {
  LDAP_ADMIN,
  LDAP_PASSWORD,
  LDAP_SUFFIX,
  REDIS_PASSWORD,
  startRedis,
  startSlapd,
} from "../test/_kv_servers.ts";
import { freePort, OWN_IDS, SmtpTestClient } from "../test/_helpers.ts";

const ENTRIES = Number(Deno.args[0] ?? 1000);
const LOOKUPS = Number(Deno.args[1] ?? 5000);
const CONCURRENT = 16;
const dir = await Deno.makeTempDir({ prefix: "network-bench-" });

const redis = await startRedis();
const slapd = await startSlapd();
const base = `ou=mail,${LDAP_SUFFIX}`;
const ldif = [`dn: ${base}\nobjectClass: organizationalUnit\nou: mail\n`];
const entries: [string, string][] = [];
for (let i = 0; i < ENTRIES; i++) {
  const address = `user${i}@example.test`;
  entries.push([address, "vmail"]);
  ldif.push(
    `dn: cn=${address},${base}\nobjectClass: nisMailAlias\ncn: ${address}\nrfc822MailMember: vmail\n`,
  );
}
await slapd.add(ldif.join("\n"));
for (let i = 0; i < ENTRIES; i += 500) {
  const batch = entries.slice(i, i + 500).flatMap(([k, v]) => [`alias:${k}`, v]);
  await redis.cli("MSET", ...batch);
}
await writeDbTable(`${dir}/aliases.db`, { shape: "map", entries });
await Deno.writeTextFile(
  `${dir}/redis.conf`,
  `master_port ${redis.port}\npassword ${REDIS_PASSWORD}\nquery_alias GET alias:%s\n`,
);
await Deno.writeTextFile(
  `${dir}/ldap.conf`,
  `url ldap://127.0.0.1:${slapd.port}\nusername ${LDAP_ADMIN}\npassword ${LDAP_PASSWORD}\n` +
    `basedn ${base}\nalias_filter (&(objectClass=nisMailAlias)(cn=%s))\nalias_attributes rfc822MailMember\n`,
);

const backends: [string, string][] = [
  ["db", `db:${dir}/aliases.db`],
  ["redis", `redis:${dir}/redis.conf`],
  ["ldap", `ldap:${dir}/ldap.conf`],
];

async function open(name: string): Promise<Table> {
  if (name === "db") return DbTable.open("aliases", `${dir}/aliases.db`);
  if (name === "redis") return await openRedisTable("aliases", `${dir}/redis.conf`);
  return await openLdapTable("aliases", `${dir}/ldap.conf`);
}

async function lookupsPerSecond(table: Table, concurrent: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrent }, async () => {
    while (next < LOOKUPS) {
      const i = (next++ * 7919) % ENTRIES;
      const value = await withTableLookups(() => table.lookup("alias", `user${i}@example.test`));
      if (value !== "vmail") throw new Error(`lookup ${i} gave ${value}`);
    }
  }));
  return LOOKUPS / ((performance.now() - started) / 1000);
}

async function rcptLatency(source: string): Promise<{ median: number; p99: number }> {
  const port = freePort();
  const sub = `${dir}/${source.split(":")[0]}`;
  await Deno.mkdir(sub);
  await Deno.writeTextFile(
    `${sub}/smtpd.conf`,
    `queue path "${sub}/queue"\ntable virt ${source}\n` +
      `listen on 127.0.0.1 port ${port}\n` +
      `action "local" maildir "${sub}/mail" virtual <virt> userbase { vmail = "${OWN_IDS}:/nonexistent" }\n` +
      `match from any for domain "example.test" action "local"\n`,
  );
  const daemon = await startDaemon({
    config: await loadConfig(`${sub}/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  const times: number[] = [];
  try {
    await using c = await SmtpTestClient.connect(port);
    await c.expect("220 ");
    await c.send("EHLO bench.test");
    await c.expect("250 ");
    for (let round = 0; round < 20; round++) {
      await c.send("MAIL FROM:<bench@far.test>");
      await c.expect("250 ");
      for (let r = 0; r < 50; r++) {
        const i = (round * 50 + r) * 7919 % ENTRIES;
        const started = performance.now();
        await c.send(`RCPT TO:<user${i}@example.test>`);
        const reply = await c.reply();
        times.push(performance.now() - started);
        if (!reply.startsWith("250")) throw new Error(`RCPT user${i}: ${reply}`);
      }
      await c.send("RSET");
      await c.expect("250 ");
    }
  } finally {
    await daemon.stop();
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, p99: times[Math.floor(times.length * 0.99)]! };
}

console.log(`${ENTRIES} aliases, ${LOOKUPS} lookups each; RCPT latency over 1000 RCPTs`);
console.log(
  "| table | lookups/s, one at a time | lookups/s, 16 at once | RCPT median | RCPT p99 |",
);
console.log(
  "| ----- | ------------------------ | --------------------- | ----------- | -------- |",
);
try {
  for (const [name, source] of backends) {
    const table = await open(name);
    await lookupsPerSecond(table, 1); // warm-up: connections, JIT
    const one = await lookupsPerSecond(table, 1);
    const many = await lookupsPerSecond(table, CONCURRENT);
    table.close?.();
    const { median, p99 } = await rcptLatency(source);
    console.log(
      `| ${name} | ${Math.round(one).toLocaleString("en")} | ${
        Math.round(many).toLocaleString("en")
      } | ` +
        `${median.toFixed(2)} ms | ${p99.toFixed(2)} ms |`,
    );
  }
} finally {
  await redis[Symbol.asyncDispose]();
  await slapd[Symbol.asyncDispose]();
  await Deno.remove(dir, { recursive: true });
}
