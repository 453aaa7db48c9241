// Each statement and option parses into the model, and each misuse is reported at its
// line and column.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { type Config, formatDiagnostic, parseConfig, printConfig } from "./mod.ts";

function parse(text: string, defines?: Record<string, string>): Config {
  const { config, diagnostics } = parseConfig(text, {
    file: "t.conf",
    ...(defines ? { defines } : {}),
  });
  if (!config) {
    throw new Error(
      diagnostics.map((d) => `${d.position.line}:${d.position.column}: ${d.message}`).join("\n"),
    );
  }
  return config;
}

function errorsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

function warningsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "warning")
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

Deno.test("parseConfig() expands macros outside quotes and lets -D override them", () => {
  const text =
    'ip = "192.0.2.1"\nport = 2525\nname = "$ip"\nlisten on $ip port $port hostname $name\n';
  const listener = parse(text).listeners[0]!;
  assertEquals([listener.address, listener.port, listener.hostname], ["192.0.2.1", 2525, "$ip"]);
  assertEquals(parse(text, { port: "2626" }).listeners[0]!.port, 2626);
  assertEquals(errorsOf("listen on $nope\n"), ['1:11: Undefined macro "$nope"']);
});

Deno.test("parseConfig() joins continued lines and skips comments", () => {
  const config = parse("# a comment\nlisten on 127.0.0.1 \\\n  port 2525 # trailing\n");
  assertEquals(config.listeners[0]!.port, 2525);
});

Deno.test("parseConfig() reads tables: lists, maps over several lines, backends", () => {
  const config = parse(
    'table l { a, "b c" }\ntable m {\n  k = v,\n  k2 => "v 2"\n}\ntable f file:/etc/mail/t\ntable d db:/etc/mail/aliases.db\ntable p /etc/mail/plain\n',
  );
  assertEquals(config.tables.map((t) => [t.name, t.source]), [
    ["l", {
      kind: "list",
      values: ["a", "b c"],
      positions: [{ file: "t.conf", line: 1, column: 11 }, { file: "t.conf", line: 1, column: 14 }],
    }],
    ["m", { kind: "map", entries: [["k", "v"], ["k2", "v 2"]] }],
    ["f", { kind: "backend", backend: "file", config: "/etc/mail/t" }],
    ["d", { kind: "backend", backend: "db", config: "/etc/mail/aliases.db" }],
    ["p", { kind: "backend", backend: "file", config: "/etc/mail/plain" }],
  ]);
});

Deno.test("parseConfig() reads every listen option", () => {
  const config = parse(`table creds { u = p }
table names { 192.0.2.1 = mx.test }
table s { u = a@b }
pki mx cert "/c"
pki mx key "/k"
ca c cert "/ca"
proc p "/usr/bin/filter"
filter f1 proc p
filter f2 proc p
listen on 192.0.2.1 inet4 port submission tls-require verify pki mx ca c auth <creds> senders <s> masquerade hostname mx.test hostnames <names> tag T mask-src no-dsn proxy-v2 received-auth filter { f1, f2 }
listen on ::1 smtps auth-optional
listen on socket
`);
  const [a, b, c] = config.listeners;
  assertEquals(a, {
    address: "192.0.2.1",
    addressPosition: { file: "t.conf", line: 10, column: 11 },
    port: 587,
    family: "inet4",
    tls: "starttls-require",
    verifyClient: true,
    pki: ["mx"],
    ca: "c",
    auth: {
      required: true,
      table: { name: "creds", position: { file: "t.conf", line: 10, column: 80 } },
    },
    senders: {
      table: { name: "s", position: { file: "t.conf", line: 10, column: 96 } },
      masquerade: true,
    },
    hostname: "mx.test",
    hostnames: { name: "names", position: { file: "t.conf", line: 10, column: 138 } },
    tag: "T",
    maskSource: true,
    noDsn: true,
    proxyV2: true,
    receivedAuth: true,
    filters: ["f1", "f2"],
    position: { file: "t.conf", line: 10, column: 1 },
  });
  assertEquals([b!.port, b!.tls, b!.auth], [465, "smtps", { required: false }]);
  assertEquals(c!.address, "socket");
});

Deno.test("parseConfig() reads a bare word after maildir as its path unless it is a keyword", () => {
  const config = parse(`table t { a = b }
action "p" maildir Maildir
action "pj" maildir ~/Mail junk user vmail
action "j" maildir junk
action "o" maildir alias <t>
action "u" maildir user vmail
match from any for any action "p"
`);
  const methods = Object.fromEntries(config.actions.map((a) => [a.name, a.method]));
  assertEquals(methods["p"], { kind: "maildir", path: "Maildir", junk: false });
  assertEquals(methods["pj"], { kind: "maildir", path: "~/Mail", junk: true });
  assertEquals(methods["j"], { kind: "maildir", junk: true });
  assertEquals(methods["o"], { kind: "maildir", junk: false });
  assertEquals(config.actions.map((a) => [a.alias?.name, a.user]), [
    [undefined, undefined],
    [undefined, "vmail"],
    [undefined, undefined],
    ["t", undefined],
    [undefined, "vmail"],
  ]);
});

Deno.test("parseConfig() reads every action method and option", () => {
  const config = parse(`table t { a = b }
table l { 192.0.2.1 }
pki mx cert "/c"
pki mx key "/k"
ca c cert "/ca"
srs key "k"
mda wrapper w "/usr/bin/wrap %{mda}"
action "m1" maildir "~/Mail" junk alias <t> userbase <t> user vmail ttl 2d
action "m2" mbox virtual <t>
action "m3" mda "/bin/deliver %{rcpt}" wrapper w
action "m4" lmtp "/var/run/lmtp.sock" rcpt-to
action "m5" forward-only
action "m6" expand-only
action "r1" relay host smtp+tls://label@mx.test:587 auth <t> tls mail-from "@example.test" src <l> helo mx.example.test pki mx ca c srs ttl 1h
action "r2" relay backup mx mx2.example.test helo-src <t> tls no-verify
action "r3" relay domain <t>
match from any for any action "m1"
`);
  const methods = Object.fromEntries(config.actions.map((a) => [a.name, a.method]));
  assertEquals(methods["m1"], { kind: "maildir", path: "~/Mail", junk: true });
  assertEquals(methods["m3"], { kind: "mda", command: "/bin/deliver %{rcpt}" });
  assertEquals(methods["m4"], { kind: "lmtp", destination: "/var/run/lmtp.sock", rcptTo: true });
  assertEquals(methods["m5"], { kind: "forward-only" });
  const m1 = config.actions[0]!;
  assertEquals([m1.alias?.name, m1.userbase?.name, m1.user, m1.ttl], ["t", "t", "vmail", 172800]);
  assertEquals(config.actions[1]!.virtual?.name, "t");
  assertEquals(config.actions[2]!.wrapper, "w");
  const r1 = config.actions[6]!;
  assertEquals(r1.ttl, 3600);
  if (r1.method.kind !== "relay") throw new Error("relay expected");
  assertEquals(
    [
      r1.method.host?.url,
      r1.method.auth?.name,
      r1.method.tls,
      r1.method.mailFrom,
      r1.method.src?.name,
      r1.method.helo,
      r1.method.pki,
      r1.method.ca,
      r1.method.srs,
    ],
    [
      "smtp+tls://label@mx.test:587",
      "t",
      "required",
      "@example.test",
      "l",
      "mx.example.test",
      "mx",
      "c",
      true,
    ],
  );
  const r2 = config.actions[7]!.method;
  if (r2.kind !== "relay") throw new Error("relay expected");
  assertEquals([r2.backup, r2.heloSrc?.name, r2.tls], [
    { mx: "mx2.example.test" },
    "t",
    "no-verify",
  ]);
  const r3 = config.actions[8]!.method;
  assertEquals(r3.kind === "relay" ? r3.domain?.name : undefined, "t");
  assertEquals(config.mdaWrappers.get("w"), "/usr/bin/wrap %{mda}");
});

Deno.test("parseConfig() reads every match criterion, negated or not", () => {
  const config = parse(`table t { a }
table n { 192.0.2.0/24 }
action "a" maildir
match ! from src <n> for domain regex <t> action "a"
match from rdns for rcpt-to <t> auth <t> helo <t> mail-from <t> tag T tls action "a"
match from rdns <t> for local ! auth rcpt-to { x@y } action "a"
match from auth <t> for any action "a"
match from mail-from <t> ! for domain "example.org" reject
match from socket for any reject
match from local ! tag T reject
`);
  const kinds = config.matches.map((m) =>
    m.criteria.map((c) =>
      (c.negated ? "!" : "") + c.kind + (c.table ? "<>" : "") + (c.regex ? "~" : "")
    ).join(" ") + " => " + m.decision.kind
  );
  assertEquals(kinds, [
    "!from-src<> for-domain<>~ => action",
    "from-rdns for-rcpt-to<> auth<> helo<> mail-from<> tag tls => action",
    "from-rdns<> for-local !auth rcpt-to<> => action",
    "from-auth<> for-any => action",
    "from-mail-from<> !for-domain<> => reject",
    "from-socket for-any => reject",
    "from-local !tag => reject",
  ]);
});

Deno.test("parseConfig() reads the global statements", () => {
  const config = parse(`queue path "/q"
queue compression
queue encryption 0123456789abcdef0123456789abcdef
queue ttl 5d
smtp max-message-size 10M
smtp limit max-rcpt 50 max-mails 10
smtp sub-addr-delim -
smtp ciphers "HIGH"
bounce warn-interval 1h, 6h
mta max-deferred 20
srs key "secret"
srs key backup "old"
srs ttl 7d
admd mx.example.test
proc p "/usr/bin/filter" user _f
filter f1 proc p
filter f2 phase connect match rdns junk
filter c chain { f1, f2 }
`);
  assertEquals(config.queue, {
    path: "/q",
    compression: true,
    encryption: { key: "0123456789abcdef0123456789abcdef" },
    ttl: 432000,
  });
  assertEquals(config.smtp, {
    maxMessageSize: 10485760,
    maxRcpt: 50,
    maxMails: 10,
    subAddrDelim: "-",
    ciphers: "HIGH",
  });
  assertEquals(config.bounceWarnIntervals, [3600, 21600]);
  assertEquals([config.mtaMaxDeferred, config.srs, config.admd], [20, {
    key: "secret",
    backupKey: "old",
    ttl: 604800,
  }, "mx.example.test"]);
  assertEquals(config.procs.map((p) => [p.name, p.command, p.user]), [[
    "p",
    "/usr/bin/filter",
    "_f",
  ]]);
  assertEquals(config.filters.map((f) => [f.name, f.kind, f.words.join(" ")]), [
    ["f1", "proc", "p"],
    ["f2", "phase", "connect match rdns junk"],
    ["c", "chain", "{ f1, f2 }"],
  ]);
});

Deno.test("parseConfig() maps legacy rules onto actions and matches", () => {
  const config = parse(`table aliases { root = alice }
table src { 192.0.2.0/24 }
table senders { "@example.org" }
accept tagged DKIM from any for domain "example.org" alias <aliases> deliver to maildir "~/Mail"
accept from source <src> sender <senders> for any relay via tls+auth://label@smtp.example.org auth <aliases> as "bounce@example.org"
accept authenticated for any relay tls verify hostname mx.example.org
reject from ! source <src> for any
accept for local deliver to mda "/bin/x" as vmail expire 2d
accept for local recipient <senders> forward-only
`);
  assertEquals(config.grammar, "legacy");
  assertEquals(
    printConfig(config).split("\n\n").slice(1).join("\n\n"),
    `action "maildir" maildir "~/Mail" alias <aliases>
action "relay" relay host "smtp+tls://label@smtp.example.org" tls no-verify auth <aliases> mail-from "bounce@example.org"
action "relay-2" relay helo "mx.example.org" tls
action "mda" mda "/bin/x" user "vmail" ttl 2d
action "forward-only" forward-only

match tag "DKIM" from any for domain "example.org" action "maildir"
match from src <src> mail-from <senders> for any action "relay"
match from auth for any action "relay-2"
match ! from src <src> for any reject
match from local for local action "mda"
match from auth for local action "mda"
match from local for local rcpt-to <senders> action "forward-only"
match from auth for local rcpt-to <senders> action "forward-only"
`,
  );
});

Deno.test("parseConfig() follows includes relative to the including file, refusing loops", () => {
  const files: Record<string, string> = {
    "/etc/mail/smtpd.conf":
      'include "tables.conf"\naction "a" maildir alias <aliases>\nmatch for local action "a"\n',
    "/etc/mail/tables.conf": "table aliases { root = alice }\n",
    "/etc/loop/a.conf": 'include "b.conf"\n',
    "/etc/loop/b.conf": 'include "a.conf"\n',
  };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error("No such file");
    return text;
  };
  const { config } = parseConfig(files["/etc/mail/smtpd.conf"]!, {
    file: "/etc/mail/smtpd.conf",
    readFile,
  });
  assertEquals(config?.tables.map((t) => t.name), ["aliases"]);
  const loop = parseConfig(files["/etc/loop/a.conf"]!, { file: "/etc/loop/a.conf", readFile });
  assertEquals(
    loop.diagnostics.map((d) =>
      `${d.position.file}:${d.position.line}:${d.position.column}: ${d.message}`
    ),
    [
      '/etc/loop/b.conf:1:9: Include loop: "/etc/loop/a.conf" is already being read',
    ],
  );
  const missing = parseConfig('include "nope.conf"\n', { file: "/etc/x.conf", readFile });
  assertStringIncludes(missing.diagnostics[0]!.message, 'Cannot include "/etc/nope.conf"');
});

const BAD: readonly [string, string][] = [
  [
    'listen on 127.0.0.1 port 2525\nmatch from any for any acton "x"\n',
    '2:24: Unknown match criterion "acton": did you mean "action"?',
  ],
  ["lisen on 127.0.0.1\n", '1:1: Unknown keyword "lisen": did you mean "listen"?'],
  ['action "a" maildir "/unterminated\n', "1:20: Unterminated string"],
  ["listen on 127.0.0.1 port 70000\n", '1:26: Bad port "70000": must be 0 to 65535'],
  [
    'pki p cert "/c"\npki p key "/k"\nlisten on 127.0.0.1 port 46600 pki p\n',
    "3:32: pki requires tls or smtps on the same listener",
  ],
  ["listen on 127.0.0.1 tag A tag B\n", "1:27: tag already specified"],
  ["listen on 127.0.0.1 hostname x hostname y\n", "1:32: hostname already specified"],
  [
    "listen on 127.0.0.1 family inet6 family inet4\n",
    "1:34: address family already specified",
  ],
  ["listen on 127.0.0.1 inet6 inet4\n", "1:27: address family already specified"],
  [
    "listen on 127.0.0.1 senders <a> senders <b>\ntable a { x = y }\ntable b { x = y }\n",
    "1:33: senders already specified",
  ],
  ["listen on 127.0.0.1 ciphers a ciphers b\n", "1:31: ciphers already specified"],
  [
    'listen on 127.0.0.1 protocols "tlsv1.2" protocols "tlsv1.3"\n',
    "1:41: protocols already specified",
  ],
  ["listen on 127.0.0.1 tls ca c ca d\n", "1:30: ca already specified"],
  ["listen on 127.0.0.1 tls pki p pki p\n", '1:35: pki "p" already specified'],
  ["listen on 127.0.0.1 hostnames <a> hostnames <b>\n", "1:35: hostnames already specified"],
  ["listen on 127.0.0.1 mask-src mask-src\n", "1:30: mask-src already specified"],
  ["listen on 127.0.0.1 tls tls\n", "1:25: TLS mode already specified"],
  ['action "a" mda "x" user joe user bob\n', "1:29: user already specified for this dispatcher"],
  [
    'action "a" relay host smtp://a host smtp://b\n',
    "1:32: host mapping already specified for this dispatcher",
  ],
  ['action "a" relay helo one helo two\n', "1:27: helo already specified for this dispatcher"],
  [
    'action "a" maildir userbase <u> userbase <v>\n',
    "1:33: userbase mapping already specified for this dispatcher",
  ],
  [
    'action "a" mda "x" wrapper w wrapper v\n',
    "1:30: wrapper already specified for this dispatcher",
  ],
  ['action "a" relay ttl 1h ttl 2h\n', "1:25: ttl already specified for this dispatcher"],
  [
    'action "a" relay domain <d> domain <e>\n',
    "1:29: domain mapping already specified for this dispatcher",
  ],
  [
    'action "a" relay src <s> src <t>\n',
    "1:26: source mapping already specified for this dispatcher",
  ],
  [
    'action "a" relay mail-from a@b mail-from c@d\n',
    "1:32: mail-from already specified for this dispatcher",
  ],
  ['action "a" relay backup backup\n', "1:25: backup already specified for this dispatcher"],
  [
    'action "a" maildir alias <a> alias <b>\n',
    "1:30: alias mapping already specified for this dispatcher",
  ],
  [
    'action "a" relay auth <a> auth <b>\n',
    "1:27: auth mapping already specified for this dispatcher",
  ],
  ["match from auth auth reject\n", "1:17: auth already specified for this rule"],
  [
    "match mail-from <a> from mail-from <b> reject\n",
    "1:21: mail-from already specified for this rule",
  ],
  [
    "listen on 127.0.0.1 port smtpx\n",
    '1:26: Bad port "smtpx": expected a number or a TCP service name of /etc/services',
  ],
  ["listen on 127.0.0.1 tls smtps\n", '1:25: "smtps" conflicts with "tls"'],
  ["listen on 127.0.0.1 prot 25\n", '1:21: Unknown listen option "prot": did you mean "port"?'],
  [
    'action "a" maildir\naction "a" mbox\nmatch for any action "a"\n',
    '2:8: Action "a" is already declared',
  ],
  ["table t { a }\ntable t { b }\n", '2:7: Table "t" is already declared'],
  [
    'action "a" maildir alias <nope>\nmatch for any action "a"\n',
    '1:27: Undefined table "nope": no table of that name is declared',
  ],
  [
    'match for any action "nope"\n',
    '1:22: Undefined action "nope": no action of that name is declared',
  ],
  ['action "a" maildr\n', '1:12: Unknown delivery method "maildr": did you mean "maildir"?'],
  [
    'action "a" maildir alias <t> virtual <t>\n',
    '1:30: "alias" and "virtual" cannot be used together',
  ],
  [
    'action "a" relay backup host smtp://x\n',
    '1:1: "backup" cannot be used with "host" or "domain"',
  ],
  [
    'table d { "x.test" = "smtp://y" }\naction "a" relay host smtp://x domain <d>\n',
    '2:1: "host" and "domain" both say where to relay: give one (a host mapping is already specified)',
  ],
  [
    'mda wrapper w "/bin/true"\nmda wrapper w "/bin/false"\n',
    '2:13: mda wrapper "w" is already declared',
  ],
  ['proc p "/bin/cat"\nproc p "/bin/cat"\n', '2:6: Proc "p" is already declared'],
  [
    'action "a" mbox\nmatch for any filter { } action "a"\n',
    "2:22: An empty list: expected a filter name in { }",
  ],
  [
    "listen on socket port 2525\n",
    '1:18: "port" cannot be used on listen on socket: it takes filter, mask-src, no-dsn and tag',
  ],
  ["listen on socket tag A\nlisten on socket\n", "2:1: listen on socket is already declared"],
  [
    'action "a" relay host "bad url!"\n',
    '1:23: Bad relay URL "bad url!": expected [proto://][label@]host[:port]',
  ],
  ['action "a" mbox user bob\n', '1:17: "user" cannot be used with mbox'],
  ['action "a" maildir ttl 4x\n', '1:24: Bad duration "4x": expected a number with s, m, h or d'],
  ["match from any for any\n", '1:23: Expected "action NAME" or "reject" to end the match'],
  ["match from any from local reject\n", '1:16: "from" is given twice in this match'],
  ["match from everywhere reject\n", '1:12: Unknown keyword "everywhere"'],
  [
    'action "a" maildir\nmatch for any action "a"\naccept for any relay\n',
    '3:1: "accept" mixes rule grammars: line 1 already uses the modern (action/match) grammar',
  ],
  ["accept for any\n", '1:1: An accept rule needs "deliver to …" or "relay"'],
  ["reject for any deliver to mbox\n", '1:16: A reject rule cannot "deliver"'],
  ["smtp max-message-size lots\n", '1:23: Bad size "lots": expected a number with K, M or G'],
  [
    "smtp sub-addr-delim @\n",
    '1:21: Bad sub-address delimiter "@": one printable character, not "@"',
  ],
  ["bounce warn-interval 1h, 2h, 3h, 4h, 5h\n", "1:38: At most four bounce warn intervals"],
  ["table t { a, b = c }\n", "1:7: A table holds either values or key = value pairs, not both"],
  [
    "match from src { 192.0.2.1, 300.1.1.1 } reject\n",
    '1:29: Bad address or network "300.1.1.1": expected an IP address or CIDR block',
  ],
  [
    "table t {\n  10.0.0.0/8,\n  300.1.1.1\n}\nmatch from src <t> reject\nmatch from src <t> for any reject\n",
    '3:3: Bad address or network "300.1.1.1": expected an IP address or CIDR block',
  ],
  [
    'table t { a, b }\naction "a" maildir alias <t>\nmatch for local action "a"\n',
    '2:27: Table "t" is a list and cannot be used for alias lookups',
  ],
  ["listen on 127.0.0.1 auth\n", "1:1: auth requires tls or smtps on the same listener"],
  [
    "listen on 127.0.0.1 tls pki nope\n",
    '1:1: Undefined pki "nope": no pki of that name is declared',
  ],
  ['pki mx cert "/c"\n', '1:5: pki "mx" needs both a cert and a key'],
  ["pki mx dhe strong\n", '1:12: Unknown dhe setting "strong"'],
  [
    "listen on 127.0.0.1 family inet5\n",
    '1:28: Unknown address family "inet5": did you mean "inet4"?',
  ],
  [`listen on 127.0.0.1 tag ${"t".repeat(33)}\n`, "1:25: A tag is at most 32 characters"],
  ["srs ttl 12h\n", "1:5: The SRS ttl is at least one day"],
  [
    'action "a" relay host lmtp://127.0.0.1\n',
    '1:23: An lmtp relay URL needs a port or a socket path: "lmtp://127.0.0.1"',
  ],
  [
    'action "a" relay host gopher://x\n',
    '1:23: Unknown protocol "gopher" in relay URL "gopher://x": expected one of smtp://, ' +
    "smtp+tls://, smtp+notls://, smtps://, lmtp://, tls://, ssl://, secure://",
  ],
  ['action "a" relay host smtp://x:70000\n', '1:23: Bad port 70000 in relay URL "smtp://x:70000"'],
  [
    'table s { l = "u:p" }\naction "a" relay host smtp://l@x auth <s>\n',
    '2:1: "auth" sends credentials only over TLS: use smtp+tls:// or smtps:// instead of "smtp://l@x"',
  ],
  [
    'action "a" relay host smtps://l@x\n',
    '1:1: The label "l" in "smtps://l@x" names credentials: add "auth <table>"',
  ],
  [
    'table s { l = "u:p" }\naction "a" relay host smtps://x auth <s>\n',
    '2:1: "auth" needs a label in the URL to find the credentials: smtps://label@x',
  ],
  [
    'action "a" relay host smtp+notls://x tls\n',
    '1:1: "tls" contradicts "smtp+notls://x", which never uses TLS',
  ],
  [
    'pki p cert "/c"\npki p key "/k"\naction "a" relay host smtp+notls://x pki p\n',
    '3:1: "pki" needs TLS, which "smtp+notls://x" never uses',
  ],
  [
    'action "a" relay domain { "x.test" = "smtp://a b" }\n',
    '1:25: Bad relay URL "smtp://a b": expected [proto://][label@]host[:port] (for domain "x.test")',
  ],
  [
    "accept for any relay via gopher://x\n",
    '1:26: Unknown protocol "gopher" in relay URL "gopher://x": expected one of smtp://, ' +
    "smtp+tls://, smtp+notls://, smtps://, lmtp://, tls://, ssl://, secure://",
  ],
  [
    'table s { l = "u:p" }\naccept for any relay via smtp://l@x auth <s>\n',
    '2:1: "auth" sends credentials only over TLS: use smtp+tls:// or smtps:// instead of "smtp+notls://l@x"',
  ],
  ['action "a" relay hots smtp://x\n', '1:18: Unknown relay option "hots": did you mean "host"?'],
  ["queue compresion\n", '1:7: Unknown queue option "compresion": did you mean "compression"?'],
  ["mta max-defered 3\n", '1:5: Unknown mta option "max-defered": did you mean "max-deferred"?'],
  ['filter f procexec "x"\n', '1:10: Unknown filter kind "procexec": did you mean "proc-exec"?'],
  ['proc p "x" usr nobody\n', '1:12: Unknown keyword "usr": did you mean "user"?'],
  ["accept from anywere relay\n", '1:13: Unknown keyword "anywere"'],
  ["accept ! tagged T for any relay\n", '1:10: "!" cannot stand before "tagged"'],
  ["smtp limit max-rcpt 0\n", '1:21: Bad number "0"'],
];

Deno.test("parseConfig() reports each misuse at its line and column", () => {
  for (const [text, expected] of BAD) {
    const errors = errorsOf(text);
    assertEquals(errors.includes(expected), true, `${text}: got ${JSON.stringify(errors)}`);
  }
});

Deno.test("parseConfig() reports every error of a file, not only the first", () => {
  assertEquals(errorsOf('lisen on x\nlisten on y prot 1\nmatch for any action "z"\n').length, 3);
});

Deno.test("parseConfig() warns about unused actions and rules after a catch-all", () => {
  assertEquals(
    warningsOf(
      'action "a" maildir\naction "b" mbox\nmatch from any for any action "a"\nmatch for local reject\n',
    ),
    [
      '2:1: Action "b" is never used',
      "4:1: This match can never be reached: the match at line 3 matches everything",
    ],
  );
});

Deno.test("formatDiagnostic() shows the line and a caret under the column", () => {
  const text = 'listen on 127.0.0.1\n\tmatch from any for any acton "x"\n';
  const d = parseConfig(text, { file: "t.conf" }).diagnostics[0]!;
  assertEquals(
    formatDiagnostic(d, text),
    't.conf:2:25: Unknown match criterion "acton": did you mean "action"?\n\tmatch from any for any acton "x"\n\t                       ^',
  );
});

Deno.test("parseConfig() reads smtp timeout (an extension) and prints it back", () => {
  const config = parse("smtp timeout 30s\n");
  assertEquals(config.smtp.timeout, 30);
  assertEquals(printConfig(config), "smtp timeout 30s\n");
});

Deno.test("parseConfig() refuses an smtp timeout of zero with its position", () => {
  assertEquals(errorsOf("smtp timeout 0s\n"), ["1:14: The smtp timeout is at least 1s"]);
});

Deno.test("parseConfig() refuses a queue encryption key that is not 32 bytes, at the key", () => {
  const refused = "The queue encryption key must be 32 bytes: 64 hex digits, base64 of 32 bytes, " +
    "or 32 characters";
  assertEquals(errorsOf(`queue encryption "abc"\n`), [`1:18: ${refused} (got 3 characters)`]);
  assertEquals(errorsOf(`queue encryption key ${"a".repeat(63)}\n`), [
    `1:22: ${refused} (got 63 characters)`,
  ]);
  assertEquals(errorsOf(`queue encryption ${"a".repeat(65)}\n`).length, 1);
  assertEquals(errorsOf(`queue encryption "${btoa("x".repeat(31))}"\n`).length, 1);
  assertEquals(errorsOf(`queue encryption "${btoa("x".repeat(33))}"\n`).length, 1);
  for (
    const good of ["ab".repeat(32), `"${btoa("x".repeat(32))}"`, "k".repeat(32), "stdin", "-", ""]
  ) {
    assertEquals(errorsOf(`queue encryption ${good}\n`), [], good);
  }
});

Deno.test("parseConfig() reads smtp greeting-delay (an extension) and prints it back", () => {
  const config = parse("smtp greeting-delay 2s\n");
  assertEquals(config.smtp.greetingDelay, 2);
  assertEquals(printConfig(config), "smtp greeting-delay 2s\n");
});

Deno.test("parseConfig() warns that a listener's ca without tls checks nothing", () => {
  assertEquals(
    warningsOf(
      'ca c cert "/c"\nlisten on 127.0.0.1 ca c\naction "a" mbox\nmatch for local action "a"\n',
    ),
    ["2:21: ca has no effect without tls or smtps on the same listener"],
  );
});

Deno.test("parseConfig() warns that a ciphers list is not applied, wherever it is written", () => {
  const note =
    "ciphers is not applied: the TLS library chooses among its own AEAD suites (protocols does bound the TLS versions)";
  assertEquals(
    warningsOf('smtp ciphers "HIGH"\nciphers "HIGH:!aNULL"\nlisten on 127.0.0.1 ciphers "HIGH"\n'),
    [`1:14: ${note}`, `2:9: ${note}`, `3:29: ${note}`],
  );
});

Deno.test("parseConfig() names a pki case-insensitively, as a host name", () => {
  const config = parse(
    'pki MX.Example.org cert "/c"\npki MX.Example.org key "/k"\n' +
      "listen on 127.0.0.1 tls pki mx.example.ORG\n",
  );
  assertEquals(config.pkis.map((p) => p.name), ["mx.example.org"]);
  assertEquals(config.listeners[0]!.pki, ["mx.example.org"]);
});
