// Decision speed of a compiled 10-rule ruleset using every criterion: 1,000 iterations of
// 1,000 decisions each, one million in all, over a mix of sessions and envelopes.
//   deno bench --allow-read --allow-write bench/rules_small_bench.ts

import { parseConfig } from "../src/config/mod.ts";
import { compileRuleset, type SessionFacts } from "../src/rules/mod.ts";
import { TableSet } from "../src/tables/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "rules-small-bench-" });
await Deno.writeTextFile(
  `${dir}/domains`,
  Array.from({ length: 200 }, (_, i) => `d${i}.example.org`).join("\n") + "\n*.wild.test\n",
);
const RULES = `
table domains file:${dir}/domains
table senders { "@spam.test", "bad@example.net" }
table nets { 192.0.2.0/24, 2001:db8::/32 }
table friends { "*.friend.test", "mx.partner.test" }
table users { alice, bob }
action "relay" relay
action "local" maildir
match from any mail-from <senders> for any reject
match from src <nets> tag MSA for any action "relay"
match from any helo <friends> for domain { "x.test", "*.y.test" } action "relay"
match ! from local for rcpt-to "postmaster@example.net" reject
match from rdns <friends> for any action "relay"
match auth <users> from any tls for any action "relay"
match from any for domain <domains> action "local"
match from socket for any action "relay"
match from local for local action "local"
match from any for any reject
`;
const { config } = parseConfig(RULES, { file: `${dir}/bench.conf` });
if (!config || config.matches.length !== 10) throw new Error("bad bench config");
const tables = await TableSet.open(config, { baseDir: dir });
const decide = compileRuleset(config, { tables: tables.tables, localNames: ["mx.test"] });

const remote: SessionFacts = {
  src: "203.0.113.9",
  local: false,
  socket: false,
  tls: false,
  helo: "c.test",
  rdns: "host.isp.test",
};
const SESSIONS: readonly SessionFacts[] = [
  remote,
  { ...remote, src: "192.0.2.5", tag: "MSA" },
  { ...remote, helo: "a.friend.test" },
  { ...remote, tls: true, authUser: "bob" },
  { src: "127.0.0.1", local: true, socket: false, tls: false },
  { src: "local", local: true, socket: true, tls: false },
];
const ENVELOPES = Array.from({ length: 1000 }, (_, i) => ({
  session: SESSIONS[i % SESSIONS.length]!,
  envelope: {
    mailFrom: i % 11 === 0 ? `s${i}@spam.test` : `user${i}@client.test`,
    rcptTo: i % 5 === 0
      ? `x@d${i % 300}.example.org`
      : i % 5 === 1
      ? "y@a.wild.test"
      : i % 5 === 2
      ? "root@mx.test"
      : `z${i}@far.test`,
  },
}));

Deno.bench("compiled ruleset: 1,000,000 decisions over 10 rules", { n: 1000, warmup: 100 }, () => {
  for (const { session, envelope } of ENVELOPES) decide(session, envelope);
});

globalThis.addEventListener("unload", () => {
  tables.close();
  Deno.removeSync(dir, { recursive: true });
});
