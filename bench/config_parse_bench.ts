// Parsing speed of a large configuration: 10,000 rules with their actions and tables.
//   deno bench --allow-read bench/config_parse_bench.ts

import { parseConfig } from "../src/config/mod.ts";

function generate(rules: number): string {
  const lines = ['table domains { example.org, example.net, "*.example.com" }'];
  for (let i = 0; i < rules / 10; i++) {
    lines.push(`table t${i} { 192.0.2.${i % 250}, 198.51.100.0/24 }`);
    lines.push(`action "a${i}" maildir "/var/vmail/%{rcpt.domain}/%{rcpt.user:lowercase}"`);
  }
  for (let i = 0; i < rules; i++) {
    const n = Math.floor(i / 10);
    lines.push(
      i % 3 === 0
        ? `match from src <t${n}> for domain <domains> action "a${n}"`
        : i % 3 === 1
        ? `match ! from local for rcpt-to "user${i}@example.org" reject`
        : `match from any tag T${i} for domain "d${i}.example.net" action "a${n}"`,
    );
  }
  return lines.join("\n") + "\n";
}

const TEXT = generate(10_000);

Deno.bench("parseConfig() of a 10,000-rule file", () => {
  const { config } = parseConfig(TEXT, { file: "bench.conf" });
  if (!config || config.matches.length !== 10_000) throw new Error("parse failed");
});
