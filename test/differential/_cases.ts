// The configurations and envelopes the differential test asks both OpenSMTPD 6.8 and this
// daemon about: each configuration is a template ({{PORT}}, {{DIR}}) with the table files
// it needs; each session names its client address, its greeting and its transactions.

/** A file a configuration reads: a table's text, made into `db:` with makemap when asked. */
export interface CaseFile {
  readonly name: string;
  readonly text: string;
  /** Also build `NAME.db` from it with makemap (`-t aliases` or `-t set` unless a map). */
  readonly makemap?: "map" | "aliases" | "set";
}

/** One SMTP transaction: MAIL FROM and its RCPTs, each answered and recorded. */
export interface Transaction {
  readonly from: string;
  readonly to: readonly string[];
}

/** One session: where it connects from, what it greets with, its transactions. */
export interface Probe {
  readonly src: string;
  /** The whole greeting command, `EHLO name` or `HELO name`. */
  readonly greeting: string;
  readonly transactions: readonly Transaction[];
}

/** A configuration and what is asked of it. */
export interface Case {
  readonly name: string;
  readonly config: string;
  readonly files: readonly CaseFile[];
  readonly probes: readonly Probe[];
}

// Client addresses: 127.0.0.1 is an interface address of the machine; 127.0.0.2 and
// 127.0.0.3 are loopback addresses that are not configured on an interface.
const SOURCES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

// Each sender with every recipient, in one transaction per sender: RSET between them.
function grid(senders: readonly string[], recipients: readonly string[]): Transaction[] {
  return senders.map((from) => ({ from, to: recipients }));
}

// Sessions from every source, greeting with each name, asking the same grid.
function sessions(greetings: readonly string[], transactions: readonly Transaction[]): Probe[] {
  return SOURCES.flatMap((src) => greetings.map((greeting) => ({ src, greeting, transactions })));
}

/** Mail for the machine's users and relaying for local clients: the seed's first file. */
const LOCAL_AND_RELAY: Case = {
  name: "local_and_relay",
  files: [{
    name: "aliases",
    text: "postmaster: root\nabuse: root\nteam: root, nobody\nghost: nosuchuser12\n",
    makemap: "aliases",
  }],
  config: `table aliases db:{{DIR}}/aliases.db
listen on 127.0.0.1 port {{PORT}}
action "local" mbox alias <aliases>
action "relay" relay
match from local for local action "local"
match from local for any action "relay"
`,
  probes: sessions(["EHLO client.example.com"], [
    ...grid(["<>", "<someone@far.test>"], [
      "root@localhost",
      "ROOT@LocalHost",
      "nobody@localhost",
      "nosuchuser12@localhost",
      "postmaster@localhost",
      "team@localhost",
      "ghost@localhost",
      "root@far.test",
      "root@[127.0.0.1]",
      "root",
    ]),
  ]),
};

/** Virtual domains and users in file and db tables, OpenSMTPD's lookup order. */
const VIRTUAL_DOMAINS: Case = {
  name: "virtual_domains",
  files: [
    { name: "domains", text: "example.org\nexample.net\n" },
    {
      name: "vusers",
      text: [
        "alice@example.org nobody",
        "bob@example.org nobody",
        "postmaster@example.org alice@example.org",
        "carol nobody",
        "@example.net nobody",
        "dave@example.org nosuchuser12",
      ].join("\n") + "\n",
      makemap: "map",
    },
  ],
  config: `table domains file:{{DIR}}/domains
table vusers db:{{DIR}}/vusers.db
listen on 127.0.0.1 port {{PORT}}
action "virt" maildir "{{DIR}}/mail/%{rcpt.user}" virtual <vusers>
action "relay" relay
match from any for domain <domains> action "virt"
match from local for any action "relay"
`,
  probes: sessions(["EHLO client.example.com"], [
    ...grid(["<>", "<sender@far.test>"], [
      "alice@example.org",
      "ALICE@Example.ORG",
      "alice+tag@example.org",
      "bob@example.org",
      "postmaster@example.org",
      "carol@example.org",
      "dave@example.org",
      "unknown@example.org",
      "anyone@example.net",
      "someone@far.test",
      "alice@sub.example.org",
    ]),
  ]),
};

/** Criteria of every kind, negated and not, on inline, file and db tables. */
const CRITERIA: Case = {
  name: "criteria",
  files: [
    { name: "allowed", text: "alice@example.org\n@partner.test\n" },
    { name: "rcpts", text: "info@example.org\nsales@example.org\n", makemap: "set" },
  ],
  config: `table allowed file:{{DIR}}/allowed
table rcpts db:{{DIR}}/rcpts.db
table helos { trusted.example.com, "*.friends.test" }
table srcs { 127.0.0.2 }
table blocked { spammer@bad.test, "@junk.test" }
listen on 127.0.0.1 port {{PORT}}
action "local" maildir "{{DIR}}/mail/%{rcpt.user}" virtual { "@example.org" = nobody }
action "relay" relay
match from any mail-from <blocked> reject
match from src <srcs> mail-from <allowed> for domain "example.org" action "local"
match from any helo <helos> for domain "example.org" action "local"
match from any rcpt-to <rcpts> action "local"
match from any !mail-from <allowed> for domain "example.org" reject
match from local for domain "example.org" action "local"
match from src 127.0.0.3 for any action "relay"
`,
  probes: sessions(
    ["EHLO client.example.com", "EHLO trusted.example.com", "HELO a.friends.test"],
    grid(
      [
        "<>",
        "<alice@example.org>",
        "<Alice@Example.Org>",
        "<bob@partner.test>",
        "<spammer@bad.test>",
        "<x@junk.test>",
        "<eve@elsewhere.test>",
      ],
      ["bob@example.org", "info@example.org", "someone@far.test"],
    ),
  ),
};

/** `for domain` with wildcards and negations, `from rdns`, and tags. */
const DOMAINS_AND_TAGS: Case = {
  name: "domains_and_tags",
  files: [],
  config: `table wild { "*.example.com", example.com }
listen on 127.0.0.1 port {{PORT}} tag IN
action "local" maildir "{{DIR}}/mail/%{rcpt.user}" virtual { "@example.com" = nobody, "@a.example.com" = nobody, "@b.example.com" = nobody }
action "relay" relay
match tag OTHER from any for any action "relay"
match !tag IN from any for any reject
match from any for domain "b.example.com" reject
match from any for domain <wild> action "local"
match from rdns for any action "relay"
match !from local for any reject
match from local !for domain "*.test" action "relay"
`,
  probes: sessions(
    ["EHLO client.example.com", "EHLO [127.0.0.1]", "EHLO [300.1.1.1]"],
    grid(["<a@sender.test>"], [
      "x@example.com",
      "x@a.example.com",
      "x@b.example.com",
      "x@deep.a.example.com",
      "x@example.com.evil.test",
      "x@EXAMPLE.COM",
      "x@far.test",
      "x@far.org",
    ]),
  ),
};

/** Every case, in the order they are recorded and replayed. */
export const CASES: readonly Case[] = [
  LOCAL_AND_RELAY,
  VIRTUAL_DOMAINS,
  CRITERIA,
  DOMAINS_AND_TAGS,
];

/** The configuration text with its placeholders filled in. */
export function configText(c: Case, dir: string, port: number): string {
  return c.config.replaceAll("{{DIR}}", dir).replaceAll("{{PORT}}", String(port));
}

/** How many recipients the cases ask about (each RCPT is one envelope). */
export function envelopeCount(): number {
  return CASES.reduce(
    (sum, c) =>
      sum + c.probes.reduce((n, p) => n + p.transactions.reduce((m, t) => m + t.to.length, 0), 0),
    0,
  );
}
