import { parseConfig } from "../config/mod.ts";
import { openTables } from "../tables/mod.ts";
import { assertEquals } from "../../test/assert.ts";
import type { RuleVerdict, SessionFacts } from "./facts.ts";
import { compileRuleset, type Ruleset } from "./compile.ts";

async function rulesetOf(text: string): Promise<Ruleset> {
  const { config, diagnostics } = parseConfig(text, { file: "test.conf" });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const tables = await openTables(config, { baseDir: "/" });
  return compileRuleset(config, { tables, localNames: ["mx.example.test"] });
}

const REMOTE: SessionFacts = { src: "203.0.113.10", local: false, socket: false, tls: false };
const LOCAL: SessionFacts = { src: "127.0.0.1", local: true, socket: false, tls: false };

function verdictName(v: RuleVerdict): string {
  return v.kind === "accept" ? `${v.action}:${v.user ?? ""}` : v.kind;
}

const POLICY = `
table vusers { "@virtual.test" = "vmail", "boss@virtual.test" = "chief" }
table nets { 192.0.2.0/24, 2001:db8::/32 }
action "mbox" maildir
action "virtual" maildir "/var/vmail/%{user.username}" virtual <vusers>
action "relay" relay
match from any for rcpt-to "blocked@example.test" reject
match from any for domain { example.test, "*.example.org" } action "mbox"
match from any for domain "virtual.test" action "virtual"
match from src <nets> for any action "relay"
match for local action "mbox"
match from local for any action "relay"
`;

const CASES: readonly [SessionFacts, string, string, string][] = [
  [REMOTE, "a@client.test", "blocked@example.test", "reject"],
  [REMOTE, "a@client.test", "Bob@EXAMPLE.test", "mbox:bob"],
  [REMOTE, "a@client.test", "bob+news@example.test", "mbox:bob"],
  [REMOTE, "a@client.test", "x@sub.example.org", "mbox:x"],
  [REMOTE, "a@client.test", "x@deep.sub.example.org", "reject"],
  [REMOTE, "a@client.test", "x@example.org", "reject"],
  [REMOTE, "", "anyone@virtual.test", "virtual:vmail"],
  [REMOTE, "a@client.test", "boss@virtual.test", "virtual:chief"],
  [{ ...REMOTE, src: "192.0.2.200" }, "a@client.test", "x@far.test", "relay:"],
  [{ ...REMOTE, src: "2001:db8::5" }, "a@client.test", "x@far.test", "relay:"],
  [{ ...REMOTE, src: "198.51.100.1" }, "a@client.test", "x@far.test", "reject"],
  [REMOTE, "a@client.test", "root@localhost", "reject"],
  [LOCAL, "a@client.test", "root@localhost", "mbox:root"],
  [LOCAL, "a@client.test", "root@mx.example.test", "mbox:root"],
  [LOCAL, "a@client.test", "x@far.test", "relay:"],
  [{ ...LOCAL, src: "127.0.0.2", local: false }, "a@client.test", "x@far.test", "reject"],
];

Deno.test("compileRuleset() decides first match wins, defaults to from/for local, refuses the rest", async () => {
  const decide = await rulesetOf(POLICY);
  for (const [session, mailFrom, rcptTo, expected] of CASES) {
    assertEquals(
      verdictName(decide(session, { mailFrom, rcptTo })),
      expected,
      `${session.src} ${mailFrom} -> ${rcptTo}`,
    );
  }
});

Deno.test("compileRuleset() negates criteria with !", async () => {
  const decide = await rulesetOf(`
action "a" maildir
match from any for ! domain "example.test" reject
match from any for any action "a"
`);
  assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo: "u@example.test" })), "a:u");
  assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo: "u@other.test" })), "reject");
});

Deno.test("compileRuleset() refuses a virtual recipient with no entry, trying no later rule", async () => {
  const decide = await rulesetOf(`
table vusers { "alice@virtual.test" = "alice" }
action "v" maildir virtual <vusers>
action "a" maildir
match from any for domain "virtual.test" action "v"
match from any for any action "a"
`);
  assertEquals(
    verdictName(decide(REMOTE, { mailFrom: "", rcptTo: "alice@virtual.test" })),
    "v:alice",
  );
  assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo: "bob@virtual.test" })), "reject");
});

Deno.test("compileRuleset() matches listener tags", async () => {
  const decide = await rulesetOf(`
action "a" maildir
match from any tag DKIM for any action "a"
`);
  assertEquals(
    verdictName(decide({ ...REMOTE, tag: "DKIM" }, { mailFrom: "", rcptTo: "u@x.test" })),
    "a:u",
  );
  assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo: "u@x.test" })), "reject");
});

Deno.test("compileRuleset() refuses a local recipient who is no user, trying no later rule", async () => {
  const { config } = parseConfig(
    `table base { vmail = "1000:1000:/var/vmail" }
table aliases { postmaster = root }
action "system" maildir alias <aliases>
action "based" maildir userbase <base>
action "relay" relay
match from any for domain "system.test" action "system"
match from any for domain "based.test" action "based"
match from any for any action "relay"
`,
    { file: "users.conf" },
  );
  const tables = await openTables(config!, { baseDir: "/" });
  const decide = compileRuleset(config!, {
    tables,
    localNames: [],
    userExists: (name) => name === "root" || name === "alice",
  });
  const cases: [string, string][] = [
    ["alice@system.test", "system:alice"],
    ["Alice+list@system.test", "system:alice"],
    ["mallory@system.test", "reject"],
    ["postmaster@system.test", "system:postmaster"],
    ["vmail@based.test", "based:vmail"],
    ["alice@based.test", "reject"],
    ["anyone@far.test", "relay:"],
  ];
  for (const [rcptTo, expected] of cases) {
    assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo })), expected, rcptTo);
  }
});

Deno.test("compileRuleset() refuses an alias at RCPT when a user its expansion reaches does not exist", async () => {
  const { config } = parseConfig(
    `table aliases { team = "root, alice", ghost = nosuchuser, staff = "team, bob+lists", loop = "loop, alice", root = "root, bob", oops = "alice, error:550 5.1.1 gone", pipe = "|/bin/true, /var/mail/x, carol@far.test" }
action "system" maildir alias <aliases>
match from any for domain "system.test" action "system"
`,
    { file: "aliases.conf" },
  );
  const tables = await openTables(config!, { baseDir: "/" });
  const decide = compileRuleset(config!, {
    tables,
    localNames: [],
    userExists: (name) => ["root", "alice", "bob"].includes(name),
  });
  const cases: [string, string][] = [
    ["team@system.test", "system:team"],
    ["ghost@system.test", "reject"],
    ["staff@system.test", "system:staff"],
    // A user named again in its own expansion is that user: root exists, loop does not.
    ["root@system.test", "system:root"],
    ["loop@system.test", "reject"],
    ["pipe@system.test", "system:pipe"],
  ];
  for (const [rcptTo, expected] of cases) {
    assertEquals(verdictName(decide(REMOTE, { mailFrom: "", rcptTo })), expected, rcptTo);
  }
  const oops = decide(REMOTE, { mailFrom: "", rcptTo: "oops@system.test" });
  assertEquals(oops.kind === "reject" ? oops.reply : undefined, "550 5.1.1 gone");
});
