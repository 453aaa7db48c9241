import { assertEquals, assertThrows } from "../../test/assert.ts";
import { expandFormat, type FormatVars } from "./format.ts";

const VARS: FormatVars = {
  sender: "Gilles@Example.org",
  rcpt: "Bob+News@Example.test",
  dest: "bob@example.test",
  username: "bob",
  directory: "/home/bob",
};

const CASES: readonly [string, string][] = [
  ["%{sender}", "Gilles@Example.org"],
  ["%{sender.user}", "Gilles"],
  ["%{sender.domain}", "Example.org"],
  ["%{rcpt}", "Bob+News@Example.test"],
  ["%{rcpt.user}", "Bob+News"],
  ["%{rcpt.domain}", "Example.test"],
  ["%{dest}", "bob@example.test"],
  ["%{dest.user}", "bob"],
  ["%{dest.domain}", "example.test"],
  ["%{user.username}", "bob"],
  ["%{user.directory}", "/home/bob"],
  ["%{mbox.from}", "Gilles@Example.org"],
  ["%{rcpt.user:lowercase}", "bob+news"],
  ["%{rcpt.user:uppercase}", "BOB+NEWS"],
  ["%{rcpt.user:strip}", "Bob"],
  ["%{rcpt:strip|lowercase}", "bob@example.test"],
  ["%{RCPT.USER:LOWERCASE}", "bob+news"],
  ["%{rcpt.domain[0]}", "E"],
  ["%{rcpt.domain[1]}", "x"],
  ["%{rcpt.domain[8:]}", "test"],
  ["%{rcpt.domain[-4:]}", "test"],
  ["%{rcpt.domain[0:6]}", "Example"],
  ["%{rcpt.domain[0:-5]}", "Example"],
  ["%{rcpt.domain[0:100]}", "Example.test"],
  ["~/Maildir", "/home/bob/Maildir"],
  ["/var/mail/%{user.username}/Maildir", "/var/mail/bob/Maildir"],
  ["/x/~/y", "/x/~/y"],
];

Deno.test("expandFormat() expands every specifier, slice and modifier", () => {
  for (const [template, expected] of CASES) {
    assertEquals(expandFormat(template, VARS), expected, template);
  }
});

Deno.test("expandFormat() slices with an inclusive end, as smtpd.conf(5) shows", () => {
  const manual = { ...VARS, rcpt: "user@example.org" };
  const examples: readonly [string, string][] = [
    ["%{rcpt.domain[0]}", "e"],
    ["%{rcpt.domain[1]}", "x"],
    ["%{rcpt.domain[8:]}", "org"],
    ["%{rcpt.domain[-3:]}", "org"],
    ["%{rcpt.domain[0:6]}", "example"],
    ["%{rcpt.domain[0:-4]}", "example"],
    ["%{rcpt.domain[-3:-1]}", "or"],
    ["%{rcpt.domain[:2]}", "exa"],
    ["%{rcpt.domain[0:100]}", "example.org"],
  ];
  for (const [template, expected] of examples) {
    assertEquals(expandFormat(template, manual), expected, template);
  }
  // An empty value stays empty whatever the offsets.
  assertEquals(expandFormat("<%{sender[5:9]}>", { ...VARS, sender: "" }), "<>");
  // The slice is taken after the modifiers, so it counts the stripped value.
  assertEquals(expandFormat("%{rcpt[0:4]:strip}", VARS), "Bob@E");
});

Deno.test("expandFormat() refuses a slice that mda_expand_token refuses", () => {
  const manual = { ...VARS, rcpt: "user@example.org" };
  // A begin past the end, an end before the begin (a negative end is one further left
  // than a negative begin, so `[-1]` ends before it starts), an empty bracket.
  for (
    const template of [
      "%{rcpt.domain[11]}",
      "%{rcpt.domain[-1]}",
      "%{rcpt.domain[5:2]}",
      "%{rcpt.domain[-12:]}",
      "%{rcpt.domain[]}",
    ]
  ) {
    assertThrows(() => expandFormat(template, manual), Error, "Bad format specifier");
  }
});

Deno.test("expandFormat() turns %% into % and leaves any other % alone", () => {
  assertEquals(expandFormat("100%%", VARS), "100%");
  assertEquals(expandFormat("%%{rcpt.user}", VARS), "%{rcpt.user}");
  assertEquals(expandFormat("50% %d %", VARS), "50% %d %");
  assertEquals(expandFormat("%%%{user.username}", VARS), "%bob");
});

Deno.test("expandFormat() replaces shell and path metacharacters unless raw", () => {
  const hostile = { ...VARS, sender: "`rm -rf ~`;$(x)|y&z@evil.test" };
  assertEquals(
    expandFormat("%{sender}", hostile),
    ":rm -rf ::;:(x):y:z@evil.test",
  );
  assertEquals(expandFormat("%{sender:raw}", hostile), hostile.sender);
  assertEquals(expandFormat("%{mbox.from}", { ...VARS, sender: "" }), "MAILER-DAEMON");
});

Deno.test("expandFormat() in a path lets no envelope value add a component or name a parent", () => {
  const quoted = { ...VARS, rcpt: '"x/../../../etc"@example.test', sender: '".."@evil.test' };
  const path = { path: true };
  assertEquals(
    expandFormat("/var/vmail/%{rcpt.user}/Maildir", quoted, path),
    '/var/vmail/"x:..:..:..:etc"/Maildir',
  );
  assertEquals(
    expandFormat("/var/vmail/%{rcpt.user:raw}", quoted, path),
    '/var/vmail/"x:..:..:..:etc"',
  );
  assertEquals(expandFormat("/m/%{sender.user[1:2]}/x", quoted, path), "/m/:./x");
  assertEquals(
    expandFormat("/m/%{sender.user}", { ...VARS, sender: "..@evil.test" }, path),
    "/m/:.",
  );
  // The user's own values are the administrator's: a home directory keeps its slashes.
  assertEquals(expandFormat("~/Maildir", VARS, path), `${VARS.directory}/Maildir`);
  // Outside a path, an address keeps its characters.
  assertEquals(expandFormat("%{rcpt.user}", quoted), '"x/../../../etc"');
});

Deno.test("expandFormat() refuses unknown specifiers and modifiers", () => {
  assertThrows(() => expandFormat("%{nope}", VARS), Error, 'Unknown format specifier "%{nope}"');
  assertThrows(() => expandFormat("%{rcpt:shout}", VARS), Error, 'Unknown format modifier "shout"');
  assertThrows(
    () => expandFormat("~/Maildir", { ...VARS, directory: undefined } as unknown as FormatVars),
    Error,
    "home directory is unknown",
  );
});

Deno.test("expandFormat() :strip cuts at smtp sub-addr-delim", () => {
  const vars = { ...VARS, rcpt: "foo-bar@v.test", subAddrDelim: "-" };
  assertEquals(expandFormat("%{rcpt.user:strip}", vars), "foo");
  assertEquals(expandFormat("%{rcpt:strip}", vars), "foo@v.test");
  // The default "+" is not cut then, and the default cuts only "+".
  assertEquals(expandFormat("%{rcpt.user:strip}", { ...vars, rcpt: "a+b@v.test" }), "a+b");
  assertEquals(expandFormat("%{rcpt.user:strip}", { ...VARS, rcpt: "foo-bar@v.test" }), "foo-bar");
});

Deno.test("expandFormat() takes the home directory as it is, ~/ included", () => {
  const vars = { ...VARS, directory: "/home/bob#1" };
  assertEquals(expandFormat("~/Maildir", vars, { path: true }), "/home/bob#1/Maildir");
  assertEquals(expandFormat("%{user.directory}/mail", vars), "/home/bob#1/mail");
  // Values from the envelope are still made safe beside it.
  assertEquals(
    expandFormat("~/%{rcpt.user}", { ...vars, rcpt: "a#b@x.test" }, { path: true }),
    "/home/bob#1/a:b",
  );
});
