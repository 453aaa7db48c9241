// Files OpenSMTPD users run, read as OpenSMTPD's parse.y reads them: continued and
// single-quoted strings, macros of several words, older keywords and URL spellings.

import { assertEquals } from "../../test/assert.ts";
import { type Config, parseConfig } from "./mod.ts";
import { parseServices } from "./services.ts";

function check(text: string, options: { services?: ReadonlyMap<string, number> } = {}) {
  const { config, diagnostics } = parseConfig(text, { file: "t.conf", ...options });
  const shown = (severity: string) =>
    diagnostics.filter((d) => d.severity === severity)
      .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
  return { config, errors: shown("error"), warnings: shown("warning") };
}

function accepted(text: string, options: { services?: ReadonlyMap<string, number> } = {}) {
  const { config, errors, warnings } = check(text, options);
  assertEquals(errors, []);
  return { config: config as Config, warnings };
}

const RULE = 'action "a" mbox\nmatch from any for any action "a"\n';

Deno.test("a quoted string continued with \\ over a line break is one string", () => {
  const { config, warnings } = accepted(
    'cmd = "/usr/local/bin/deliver \\\n  -a"\n' +
      'action "m" mda "/usr/bin/procmail \\\n -f -" \\\n  user vmail\n' +
      "listen on 127.0.0.1 hostname 'mx.\\\nexample.org'\n" +
      'match from any for any action "m"\n',
  );
  assertEquals(warnings, []);
  const m = config.actions[0]!;
  assertEquals([m.method, m.user], [{ kind: "mda", command: "/usr/bin/procmail  -f -" }, "vmail"]);
  assertEquals(config.macros.get("cmd"), "/usr/local/bin/deliver   -a");
  assertEquals(config.listeners[0]!.hostname, "mx.example.org");
});

Deno.test("a macro of several words used unquoted is read as those words", () => {
  const { config } = accepted(
    'opts = "tls-require auth"\nip = "127.0.0.1"\nname = mx\n' +
      'pki mx.example.org cert "/c"\npki mx.example.org key "/k"\n' +
      "listen on $ip port 25 $opts pki $name.example.org\n" + RULE,
  );
  const listener = config.listeners[0]!;
  assertEquals(
    [listener.address, listener.tls, listener.auth, listener.pki],
    ["127.0.0.1", "starttls-require", { required: true }, ["mx.example.org"]],
  );
  // Not inside quotes, and not inside another macro's value.
  assertEquals(
    accepted('n = "$ip"\nlisten on 127.0.0.1 hostname "$n"\n' + RULE).config.listeners[0]!
      .hostname,
    "$n",
  );
  assertEquals(check("listen on $nope port 25\n").errors, ['1:11: Undefined macro "$nope"']);
});

Deno.test("single-quoted strings stand wherever double-quoted ones do", () => {
  const { config } = accepted(
    "table t { 'u' = 'a b', \"v\" = 'it\\'s' }\n" +
      "action 'a' mbox alias <t>\nmatch from any for domain 'example.org' action 'a'\n",
  );
  assertEquals(config.tables[0]!.source, {
    kind: "map",
    entries: [["u", "a b"], ["v", "it's"]],
  });
  assertEquals(
    config.matches[0]!.decision.kind === "action" && config.matches[0]!.decision.action,
    "a",
  );
});

Deno.test("relay filter names the outbound filters, accepted with a warning", () => {
  const { config, warnings } = accepted(
    'filter "f1" proc-exec "/bin/cat"\nfilter "f2" proc-exec "/bin/cat"\n' +
      'action "out" relay filter "f1"\naction "out2" relay tls filter { f1, f2 }\n' +
      'match from any for domain "a" action "out"\nmatch from any for any action "out2"\n',
  );
  const filters = config.actions.map((a) => a.method.kind === "relay" && a.method.filters);
  assertEquals(filters, [["f1"], ["f1", "f2"]]);
  assertEquals(warnings, [
    '3:20: "relay filter" is accepted and has no effect here',
    '4:25: "relay filter" is accepted and has no effect here',
  ]);
  assertEquals(check('action "out" relay filter "nope"\n' + RULE).errors, [
    '1:1: Undefined filter "nope": no filter of that name is declared',
  ]);
});

Deno.test("legacy deliver to lmtp … rcpt-to sends the recipient in RCPT TO", () => {
  const { config } = accepted(
    'accept from any for domain "example.org" deliver to lmtp "/run/dovecot/lmtp" rcpt-to\n',
  );
  assertEquals(config.actions[0]!.method, {
    kind: "lmtp",
    destination: "/run/dovecot/lmtp",
    rcptTo: true,
  });
});

Deno.test("a pki gives its certificate and key on one line, as 5.x wrote it", () => {
  const { config } = accepted(
    'pki mx.example.org certificate "/etc/ssl/mx.crt" key "/etc/ssl/mx.key"\n' +
      "listen on 127.0.0.1 tls pki mx.example.org\naccept from any for any deliver to mbox\n",
  );
  assertEquals(
    config.pkis.map((p) => [p.name, p.cert, p.key]),
    [["mx.example.org", "/etc/ssl/mx.crt", "/etc/ssl/mx.key"]],
  );
});

Deno.test("curve and pki dhparams of older releases are accepted with a warning", () => {
  const { warnings } = accepted(
    'pki mx cert "/c"\npki mx key "/k" dhparams "/etc/ssl/dh.pem"\ncurve secp384r1\n' + RULE,
  );
  assertEquals(warnings, [
    '2:17: "pki … dhparams" is accepted and has no effect here',
    '3:1: "curve" is accepted and has no effect here',
  ]);
});

Deno.test("a port is any TCP service name of services(5)", () => {
  const services = parseServices(
    "smtp\t25/tcp\tmail\nsubmissions\t465/tcp\tssmtp smtps urd # TLS\n" +
      "imaps 993/tcp\nsieve 4190/tcp\nbiff 512/udp comsat\n",
  );
  const { config } = accepted(
    "listen on 127.0.0.1 port submissions\nlisten on 127.0.0.1 port ssmtp\n" +
      "listen on 127.0.0.1 port sieve\n" + RULE,
    { services },
  );
  assertEquals(config.listeners.map((l) => l.port), [465, 465, 4190]);
  assertEquals(check("listen on 127.0.0.1 port biff\n" + RULE, { services }).errors, [
    '1:26: Bad port "biff": expected a number or a TCP service name of /etc/services',
  ]);
  // Without the system's database, the mail ports keep all their names.
  const fallback = accepted("listen on ::1 port submissions\nlisten on ::1 port ssmtp\n" + RULE);
  assertEquals(fallback.config.listeners.map((l) => l.port), [465, 465]);
});

Deno.test("a relay URL may end in / and spell its scheme in capitals", () => {
  const { config, warnings } = accepted(
    'action "a" relay host "smtp://mx.example.org/"\n' +
      'action "b" relay host "SMTP+TLS://mx.example.org:587/"\n' +
      'match from any for domain "a" action "a"\nmatch from any for any action "b"\n',
  );
  assertEquals(warnings, []);
  const hosts = config.actions.map((a) =>
    a.method.kind === "relay" ? [a.method.host?.security, a.method.host?.port] : []
  );
  assertEquals(hosts, [["opportunistic", 25], ["starttls", 587]]);
});

Deno.test("a pre-6.4 URL scheme in relay host works, with a warning naming the modern one", () => {
  const { config, warnings } = accepted(
    'action "a" relay host "tls://mx.example.org"\naction "b" relay host ssl://mx.example.org\n' +
      'match from any for domain "a" action "a"\nmatch from any for any action "b"\n',
  );
  assertEquals(warnings, [
    '1:23: "tls://" is the spelling of OpenSMTPD before 6.4: write "smtp+tls://"',
    '2:23: "ssl://" is the spelling of OpenSMTPD before 6.4: write "smtps://"',
  ]);
  const security = config.actions.map((a) => a.method.kind === "relay" && a.method.host?.security);
  assertEquals(security, ["starttls", "smtps"]);
});

Deno.test("an action that fails to parse is reported once, not again at each match", () => {
  assertEquals(
    check(
      'action "a" mbox bogus\nmatch from any for domain "x" action "a"\n' +
        'match from any for domain "y" action "a"\nmatch from any for any action "b"\n',
    ).errors,
    [
      '1:17: Unknown action option "bogus"',
      '4:31: Undefined action "b": no action of that name is declared',
    ],
  );
});

Deno.test("tls without pki takes the pki named after the listener's hostname", () => {
  const pki = 'pki Mx.Example.org cert "/c"\npki Mx.Example.org key "/k"\n';
  assertEquals(
    accepted(pki + "listen on 127.0.0.1 tls hostname mx.example.org\n" + RULE).warnings,
    [],
  );
  assertEquals(
    accepted('pki "*" cert "/c"\npki "*" key "/k"\nlisten on 127.0.0.1 smtps\n' + RULE).warnings,
    [],
  );
  assertEquals(accepted(pki + "listen on 127.0.0.1 tls hostname other.org\n" + RULE).warnings, [
    '3:1: tls without a pki, and no pki named "other.org" or "*": name a certificate with pki NAME',
  ]);
});

Deno.test("a top-level statement OpenSMTPD does not know, such as hostname, is an error", () => {
  assertEquals(check("hostname mx.example.org\n" + RULE).errors, [
    '1:1: Unknown keyword "hostname"',
  ]);
});
