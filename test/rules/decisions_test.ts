// The ruleset's decisions, table-driven: one policy, its tables written through every
// backend (inline, file, db, sqlite, yaml) as real files, and sessions × envelopes with the
// decision OpenSMTPD makes for each.

import { DatabaseSync } from "node:sqlite";
import { runMakemap } from "../../src/compat/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { compileRuleset, type Ruleset, type SessionFacts } from "../../src/rules/mod.ts";
import { TableSet } from "../../src/tables/mod.ts";
import { assertEquals } from "../assert.ts";

type Shape = { list: string[] } | { map: Record<string, string> };

const TABLES: Record<string, { service: string; shape: Shape }> = {
  domains: { service: "domain", shape: { list: ["example.org", "*.example.com"] } },
  nets: { service: "netaddr", shape: { list: ["192.0.2.0/24", "2001:db8::/32"] } },
  senders: {
    service: "mailaddr",
    shape: { list: ["@spam.test", "bad@example.net", "user+tag@example.net"] },
  },
  helos: { service: "domain", shape: { list: ["mx.friend.test", "*.friend.test"] } },
  vusers: {
    service: "alias",
    shape: {
      map: { "@example.org": "vmail", "boss@example.org": "chief", "@a.example.com": "vmail" },
    },
  },
  base: {
    service: "userinfo",
    shape: { map: { vmail: "1000:1000:/var/vmail", chief: "1001:1001:/home/chief" } },
  },
};

const RULES = `
table authusers { alice }
action "virtual" maildir "/var/vmail/%{user.username}" virtual <vusers> userbase <base>
action "relay" relay
match from any mail-from <senders> for any reject
match from any for domain <domains> action "virtual"
match from src <nets> for any action "relay"
match from any helo <helos> for any action "relay"
match from auth <authusers> for any action "relay"
match ! from local for local reject
match from local for any action "relay"
`;

const remote: SessionFacts = { src: "203.0.113.5", local: false, socket: false, tls: false };
const S: Record<string, SessionFacts> = {
  remote,
  net4: { ...remote, src: "192.0.2.77" },
  net6: { ...remote, src: "2001:db8::77" },
  friend: { ...remote, helo: "MX.Friend.test" },
  friendSub: { ...remote, helo: "a.friend.test" },
  friendSubSub: { ...remote, helo: "b.a.friend.test" },
  alice: { ...remote, authUser: "alice", tls: true },
  mallory: { ...remote, authUser: "mallory", tls: true },
  local: { src: "127.0.0.1", local: true, socket: false, tls: false },
  notLocal: { ...remote, src: "127.0.0.2" },
};

// [session, MAIL FROM, RCPT TO, decision]
const CASES: readonly [string, string, string, string][] = [
  ["remote", "a@client.test", "x@example.org", "virtual:vmail"],
  ["remote", "a@client.test", "boss@example.org", "virtual:chief"],
  ["remote", "a@client.test", "Boss@Example.ORG", "virtual:chief"],
  ["remote", "a@client.test", "boss+x@example.org", "virtual:chief"],
  ["remote", "a@client.test", "y@a.example.com", "virtual:vmail"],
  ["net4", "a@client.test", "y@b.example.com", "reject"], // a virtual miss tries no later rule
  ["remote", "a@client.test", "y@c.b.example.com", "reject"], // *. matches one label only
  ["net4", "a@client.test", "y@c.b.example.com", "relay:"],
  ["remote", "x@spam.test", "x@example.org", "reject"],
  ["remote", "X@SPAM.test", "x@example.org", "reject"],
  ["remote", "bad@example.net", "x@example.org", "reject"],
  ["remote", "bad+news@example.net", "x@example.org", "reject"], // untagged entry, tagged key
  ["remote", "user@example.net", "x@example.org", "virtual:vmail"], // tagged entry: only itself
  ["remote", "user+tag@example.net", "x@example.org", "reject"],
  ["remote", "", "x@example.org", "virtual:vmail"], // the null sender matches no entry
  ["net4", "a@client.test", "far@far.test", "relay:"],
  ["net6", "a@client.test", "far@far.test", "relay:"],
  ["remote", "a@client.test", "far@far.test", "reject"],
  ["friend", "a@client.test", "far@far.test", "relay:"],
  ["friendSub", "a@client.test", "far@far.test", "relay:"],
  ["friendSubSub", "a@client.test", "far@far.test", "reject"],
  ["alice", "a@client.test", "far@far.test", "relay:"],
  ["mallory", "a@client.test", "far@far.test", "reject"],
  ["local", "a@client.test", "far@far.test", "relay:"],
  ["notLocal", "a@client.test", "far@far.test", "reject"], // 127.0.0.2 is not local
  ["remote", "a@client.test", "root@localhost", "reject"],
  ["local", "a@client.test", "root@localhost", "relay:"],
  ["remote", "a@client.test", "root@mx.example.org", "reject"],
  ["net4", "a@client.test", "root@localhost", "relay:"],
  ["local", "a@client.test", "x@example.org", "virtual:vmail"],
  ["notLocal", "a@client.test", "x@example.org", "virtual:vmail"],
  ["net6", "bad@example.net", "far@far.test", "reject"],
  ["friend", "a@client.test", "y@b.example.com", "reject"],
  ["alice", "a@client.test", "x@Example.Org", "virtual:vmail"],
  ["remote", "a@client.test", "x@EXAMPLE.COM", "reject"],
  ["net4", "a@client.test", "x@example.com", "relay:"],
  ["local", "user+tag@example.net", "far@far.test", "reject"],
  ["local", "", "far@far.test", "relay:"],
  ["friend", "a@client.test", "boss@example.org", "virtual:chief"],
  ["alice", "", "y@b.example.com", "reject"],
  ["notLocal", "", "root@localhost", "reject"],
  ["net6", "a@client.test", "boss+a+b@example.org", "virtual:chief"],
];

type Backend = "inline" | "file" | "db" | "sqlite" | "yaml";

async function writeTables(dir: string, backend: Backend): Promise<string> {
  const lines: string[] = [];
  const db = backend === "sqlite" ? new DatabaseSync(`${dir}/tables.sqlite`) : undefined;
  db?.exec("CREATE TABLE entries (tbl TEXT, k TEXT, v TEXT)");
  db?.exec("CREATE TABLE users (name TEXT, uid INTEGER, gid INTEGER, home TEXT)");
  for (const [name, { service, shape }] of Object.entries(TABLES)) {
    const entries: [string, string][] = "list" in shape
      ? shape.list.map((v) => [v, v])
      : Object.entries(shape.map);
    const text = entries.map(([k, v]) => ("list" in shape ? k : `${k} ${v}`)).join("\n") + "\n";
    switch (backend) {
      case "inline": {
        const body = "list" in shape
          ? shape.list.map((v) => `"${v}"`).join(", ")
          : entries.map(([k, v]) => `"${k}" = "${v}"`).join(", ");
        lines.push(`table ${name} { ${body} }`);
        break;
      }
      case "file":
        await Deno.writeTextFile(`${dir}/${name}`, text);
        lines.push(`table ${name} file:${dir}/${name}`);
        break;
      case "db": {
        await Deno.writeTextFile(`${dir}/${name}`, text);
        const code = await runMakemap([`${dir}/${name}`], { stderr: () => {} });
        if (code !== 0) throw new Error(`makemap ${name}: exit ${code}`);
        lines.push(`table ${name} db:${dir}/${name}.db`);
        break;
      }
      case "yaml":
        await Deno.writeTextFile(
          `${dir}/${name}.yaml`,
          JSON.stringify("list" in shape ? shape.list : shape.map),
        );
        lines.push(`table ${name} yaml:${dir}/${name}.yaml`);
        break;
      case "sqlite": {
        for (const [k, v] of entries) {
          if (service === "userinfo") {
            const [uid, gid, home] = v.split(":");
            db!.prepare("INSERT INTO users VALUES (?, ?, ?, ?)").run(
              k,
              Number(uid),
              Number(gid),
              home!,
            );
          } else {
            db!.prepare("INSERT INTO entries VALUES (?, ?, ?)").run(name, k, v);
          }
        }
        const query = service === "userinfo"
          ? "SELECT uid, gid, home FROM users WHERE name = ?"
          : service === "alias"
          ? `SELECT v FROM entries WHERE tbl = '${name}' AND k = ?`
          : `SELECT k FROM entries WHERE tbl = '${name}' AND k = ?`;
        await Deno.writeTextFile(
          `${dir}/${name}.conf`,
          `dbpath ${dir}/tables.sqlite\nquery_${service} ${query}\n`,
        );
        lines.push(`table ${name} sqlite:${dir}/${name}.conf`);
        break;
      }
    }
  }
  db?.close();
  return lines.join("\n") + "\n" + RULES;
}

async function rulesetFor(
  backend: Backend,
): Promise<{ decide: Ruleset; close(): void; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: `rules-${backend}-` });
  const text = await writeTables(dir, backend);
  const { config, diagnostics } = parseConfig(text, { file: `${dir}/smtpd.conf` });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const tables = await TableSet.open(config, { baseDir: dir });
  const decide = compileRuleset(config, { tables: tables.tables, localNames: ["mx.example.org"] });
  return { decide, close: () => tables.close(), dir };
}

function decisionName(decide: Ruleset, session: SessionFacts, mailFrom: string, rcptTo: string) {
  const v = decide(session, { mailFrom, rcptTo });
  return v.kind === "accept" ? `${v.action}:${v.user ?? ""}` : v.kind;
}

for (const backend of ["inline", "file", "db", "sqlite", "yaml"] as const) {
  Deno.test(`compileRuleset() decides ${CASES.length} envelopes as expected with ${backend} tables`, async () => {
    const { decide, close, dir } = await rulesetFor(backend);
    try {
      for (const [session, mailFrom, rcptTo, expected] of CASES) {
        assertEquals(
          decisionName(decide, S[session]!, mailFrom, rcptTo),
          expected,
          `${backend}: ${session} <${mailFrom}> -> <${rcptTo}>`,
        );
      }
    } finally {
      close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("compileRuleset() makes a table that cannot answer a tempfail, not a no-match", async () => {
  const { decide, close, dir } = await rulesetFor("sqlite");
  try {
    const db = new DatabaseSync(`${dir}/tables.sqlite`);
    db.exec("DROP TABLE entries");
    db.close();
    const v = decide(S.remote!, { mailFrom: "a@client.test", rcptTo: "x@example.org" });
    assertEquals(v.kind, "tempfail");
  } finally {
    close();
    await Deno.remove(dir, { recursive: true });
  }
});
