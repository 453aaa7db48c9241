// Decision speed of a compiled ruleset: 100 rules over inline and file tables, deciding
// a mix of envelopes (most fall through many rules). One iteration decides 1,000.
//   deno bench --allow-read --allow-write bench/rules_bench.ts

import { parseConfig } from "../src/config/mod.ts";
import { compileRuleset, type SessionFacts } from "../src/rules/mod.ts";
import { TableSet } from "../src/tables/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "rules-bench-" });
await Deno.writeTextFile(
  `${dir}/domains`,
  Array.from({ length: 500 }, (_, i) => `d${i}.example.org`).join("\n") + "\n*.wild.test\n",
);
await Deno.writeTextFile(
  `${dir}/senders`,
  Array.from({ length: 500 }, (_, i) => `s${i}@spam.test`).join("\n") + "\n",
);
const lines = [
  `table domains file:${dir}/domains`,
  `table senders file:${dir}/senders`,
  "table nets { 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32 }",
  'action "relay" relay',
  'action "local" maildir',
];
for (let i = 0; i < 96; i++) {
  lines.push(
    i % 4 === 0
      ? `match from any mail-from <senders> for domain "r${i}.test" reject`
      : i % 4 === 1
      ? `match from src <nets> tag T${i} for any action "relay"`
      : i % 4 === 2
      ? `match from any helo "h${i}.test" for domain { "x${i}.test", "*.y${i}.test" } action "relay"`
      : `match ! from local for rcpt-to "u${i}@example.net" reject`,
  );
}
lines.push('match from any for domain <domains> action "local"');
lines.push('match from src <nets> for any action "relay"');
lines.push('match from local for any action "relay"');
lines.push("match from any for any reject");
const { config } = parseConfig(lines.join("\n") + "\n", { file: `${dir}/bench.conf` });
if (!config || config.matches.length !== 100) throw new Error("bad bench config");
const tables = await TableSet.open(config, { baseDir: dir });
const decide = compileRuleset(config, { tables: tables.tables, localNames: ["mx.test"] });

const remote: SessionFacts = {
  src: "203.0.113.9",
  local: false,
  socket: false,
  tls: false,
  helo: "c.test",
};
const net: SessionFacts = { ...remote, src: "192.0.2.5" };
const local: SessionFacts = { src: "127.0.0.1", local: true, socket: false, tls: false };
const ENVELOPES = Array.from({ length: 1000 }, (_, i) => ({
  session: [remote, net, local][i % 3]!,
  envelope: {
    mailFrom: i % 7 === 0 ? `s${i % 500}@spam.test` : `user${i}@client.test`,
    rcptTo: i % 5 === 0
      ? `x@d${i % 600}.example.org`
      : i % 5 === 1
      ? `y@a.wild.test`
      : `z${i}@far.test`,
  },
}));

Deno.bench("compiled ruleset: 1,000 decisions over 100 rules", () => {
  for (const { session, envelope } of ENVELOPES) decide(session, envelope);
});

globalThis.addEventListener("unload", () => {
  tables.close();
  Deno.removeSync(dir, { recursive: true });
});
