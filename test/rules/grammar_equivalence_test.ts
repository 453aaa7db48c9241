// The same policy written in the legacy and the modern grammar decides every envelope
// the same way.

import { parseConfig } from "../../src/config/mod.ts";
import { compileRuleset, type Ruleset, type SessionFacts } from "../../src/rules/mod.ts";
import { TableSet } from "../../src/tables/mod.ts";
import { assertEquals } from "../assert.ts";

const LEGACY = `
table aliases { root = alice }
table nets { 192.0.2.0/24, 2001:db8::/32 }
table senders { "@spam.test", "bad@example.net" }
reject from any sender <senders> for any
accept from any for domain "example.org" alias <aliases> deliver to maildir "/var/mail/%{user.username}"
accept from any for domain { "*.example.com" } deliver to mda "/usr/bin/procmail"
accept tagged DKIM from any for any relay
accept from source <nets> for any relay via smtp://127.0.0.1:10027
accept authenticated from any for any relay
reject from ! local for local
accept for local deliver to mbox
accept from local for any relay
`;

const MODERN = `
table aliases { root = alice }
table nets { 192.0.2.0/24, 2001:db8::/32 }
table senders { "@spam.test", "bad@example.net" }
action "maildir" maildir "/var/mail/%{user.username}" alias <aliases>
action "mda" mda "/usr/bin/procmail"
action "relay" relay
action "relay-2" relay host "smtp+notls://127.0.0.1:10027"
action "mbox" mbox
match from any mail-from <senders> for any reject
match from any for domain "example.org" action "maildir"
match from any for domain { "*.example.com" } action "mda"
match tag DKIM from any for any action "relay"
match from src <nets> for any action "relay-2"
match auth from any for any action "relay"
match ! from local for local reject
match from local for local action "mbox"
match from local for any action "relay"
`;

async function rulesetOf(text: string): Promise<Ruleset> {
  const { config, diagnostics } = parseConfig(text, { file: "policy.conf" });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const tables = await TableSet.open(config, { baseDir: "/" });
  return compileRuleset(config, { tables: tables.tables, localNames: ["mx.example.org"] });
}

const SESSIONS: Record<string, SessionFacts> = {
  remote: { src: "203.0.113.5", local: false, socket: false, tls: false },
  listed: { src: "192.0.2.9", local: false, socket: false, tls: false },
  listed6: { src: "2001:db8::9", local: false, socket: false, tls: false },
  local: { src: "127.0.0.1", local: true, socket: false, tls: false },
  tagged: { src: "203.0.113.5", local: false, socket: false, tls: false, tag: "DKIM" },
  authed: { src: "203.0.113.5", local: false, socket: false, tls: true, authUser: "alice" },
};
const SENDERS = ["", "someone@client.test", "x@spam.test", "bad@example.net", "BAD@Example.net"];
const RECIPIENTS = [
  "root@example.org",
  "Alice+tag@EXAMPLE.org",
  "u@a.example.com",
  "u@a.b.example.com",
  "postmaster@localhost",
  "root@mx.example.org",
  "someone@far.test",
];

Deno.test("legacy and modern forms of one policy decide every envelope alike", async () => {
  const legacy = await rulesetOf(LEGACY);
  const modern = await rulesetOf(MODERN);
  let cases = 0;
  const kinds = new Set<string>();
  for (const [name, session] of Object.entries(SESSIONS)) {
    for (const mailFrom of SENDERS) {
      for (const rcptTo of RECIPIENTS) {
        const a = legacy(session, { mailFrom, rcptTo });
        const b = modern(session, { mailFrom, rcptTo });
        assertEquals(a, b, `${name} ${mailFrom} -> ${rcptTo}`);
        kinds.add(a.kind === "accept" ? a.action : a.kind);
        cases++;
      }
    }
  }
  assertEquals(cases, 210);
  // The grid reaches every rule's outcome, so the comparison is not vacuous.
  assertEquals([...kinds].sort(), ["maildir", "mbox", "mda", "reject", "relay", "relay-2"]);
});
