// Table lookup benchmarks: a 100,000-entry `db:` table (target: under 50 µs a lookup) and
// the in-memory tables the rules engine matches against at millions of envelopes a second.
//
//   deno bench --allow-read --allow-write bench/tables_bench.ts

import { DbTable, parseTableFile, StaticTable, writeDbTable } from "../src/tables/mod.ts";

const ENTRIES = 100_000;
const dir = await Deno.makeTempDir({ prefix: "tables-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const aliases: [string, string][] = [];
for (let i = 0; i < ENTRIES; i++) aliases.push([`user${i}@example${i % 100}.org`, `local${i}`]);
await writeDbTable(`${dir}/aliases.db`, { shape: "map", entries: aliases });
const dbMap = DbTable.open("aliases", `${dir}/aliases.db`);

const domains: [string, string][] = [];
for (let i = 0; i < ENTRIES; i++) domains.push([`domain${i}.example`, `domain${i}.example`]);
domains.push(["*.wild.example", "*.wild.example"]);
await writeDbTable(`${dir}/domains.db`, { shape: "list", entries: domains });
const dbDomains = DbTable.open("domains", `${dir}/domains.db`);

// Many odd i name the same /24: each block is written once (makemap refuses a repeat).
const nets = new Map<string, string>();
for (let i = 0; i < ENTRIES; i++) {
  const key = i % 2 === 0
    ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    : `172.${16 + (i >> 16)}.${(i >> 8) & 255}.0/24`;
  nets.set(key, key);
}
await writeDbTable(`${dir}/nets.db`, { shape: "list", entries: [...nets] });
const dbNets = DbTable.open("nets", `${dir}/nets.db`);

let n = 0;
const next = () => (n = (n * 7919 + 12345) % ENTRIES);

Deno.bench("db 100k: lookup (hit)", { group: "db" }, () => {
  const i = next();
  dbMap.lookup("alias", `user${i}@example${i % 100}.org`);
});
Deno.bench("db 100k: lookup (miss)", { group: "db" }, () => {
  dbMap.lookup("alias", `nobody${next()}@example.org`);
});
Deno.bench("db 100k: match mailaddr (tagged, hit)", { group: "db" }, () => {
  const i = next();
  dbMap.match("mailaddr", `user${i}+tag@example${i % 100}.org`);
});
Deno.bench("db 100k: match domain (miss, 3 probes)", { group: "db" }, () => {
  dbDomains.match("domain", `nope${next()}.example`);
});
Deno.bench("db 100k: match domain (wildcard)", { group: "db" }, () => {
  dbDomains.match("domain", `h${next()}.wild.example`);
});
Deno.bench("db 100k: match netaddr (v4, 2 prefix lengths)", { group: "db" }, () => {
  const i = next();
  dbNets.match("netaddr", `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
});

// In-memory tables: an inline list, a file table with 1,000 entries.
const inlineDomains = StaticTable.fromList("local", [
  "example.org",
  "example.net",
  "*.example.com",
]);
const fileLines: string[] = [];
for (let i = 0; i < 1000; i++) fileLines.push(`user${i}@example.org`, `@domain${i}.test`);
const fileSenders = parseTableFile("senders", fileLines.join("\n"));
const netLines: string[] = [];
for (let i = 0; i < 100; i++) netLines.push(`192.0.${i}.0/24`, `2001:db8:${i.toString(16)}::/48`);
const fileNets = parseTableFile("nets", netLines.join("\n"));

Deno.bench("static: match domain (hit)", { group: "static" }, () => {
  inlineDomains.match("domain", "Example.ORG");
});
Deno.bench("static: match domain (wildcard)", { group: "static" }, () => {
  inlineDomains.match("domain", "mx.example.com");
});
Deno.bench("static: match mailaddr 2k (tagged hit)", { group: "static" }, () => {
  fileSenders.match("mailaddr", `user${next() % 1000}+list@example.org`);
});
Deno.bench("static: match mailaddr 2k (miss)", { group: "static" }, () => {
  fileSenders.match("mailaddr", "someone@elsewhere.test");
});
Deno.bench("static: match netaddr 200 blocks (v4 miss)", { group: "static" }, () => {
  fileNets.match("netaddr", "203.0.113.9");
});
