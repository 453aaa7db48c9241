// What `smtpd -n` accepts, `smtpd -n -v` prints into text that `-n` accepts again with the
// same meaning: for every example, and for each kind of file that once printed wrong.

import { assertEquals } from "../../test/assert.ts";
import { checkConfigText, exampleTexts } from "../../test/fuzz/_config_cases.ts";
import { parseConfig, printConfig } from "./mod.ts";

/** Accepted, and printed into text meaning the same (checkConfigText throws otherwise). */
function assertRoundTrip(text: string): string {
  const { config, diagnostics } = parseConfig(text, { file: "t.conf" });
  if (!config) throw new Error(`refused: ${diagnostics.map((d) => d.message).join("; ")}`);
  checkConfigText(text);
  return printConfig(config);
}

function errorsOf(text: string): string[] {
  return parseConfig(text, { file: "t.conf" }).diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.position.line}:${d.position.column}: ${d.message}`);
}

Deno.test("every example prints into text that parses to the same model", () => {
  const examples = new URL("../../examples/", import.meta.url).pathname;
  const texts = exampleTexts();
  assertEquals(texts.length >= 6, true);
  for (const text of texts) {
    checkConfigText(text, {
      file: `${examples}example.conf`,
      readFile: (path) => Deno.readTextFileSync(path),
    });
  }
});

Deno.test("every corpus configuration that is accepted prints into text meaning the same", () => {
  const corpus = new URL("../../test/conf_corpus/", import.meta.url).pathname;
  let checked = 0;
  for (const entry of Deno.readDirSync(corpus)) {
    if (!entry.name.endsWith(".conf")) continue;
    const options = { file: `${corpus}${entry.name}`, readFile: Deno.readTextFileSync };
    const text = Deno.readTextFileSync(options.file);
    // What is accepted without effect (5.7's `curve`, with a warning) is not printed.
    const { config } = parseConfig(text, options);
    if (!config || config.ignored?.length) continue;
    checkConfigText(text, options);
    checked++;
  }
  assertEquals(checked >= 20, true);
});

Deno.test("printConfig() quotes table names and backend sources that are not plain words", () => {
  const printed = assertRoundTrip(
    'table "my list" { 192.0.2.1 }\ntable "t 2" "file:/etc/mail/my aliases"\n' +
      'action "a" mbox alias <"t 2">\nmatch from src <"my list"> for local action "a"\n',
  );
  assertEquals(printed.split("\n").slice(0, 2), [
    'table "my list" { "192.0.2.1" }',
    'table "t 2" "file:/etc/mail/my aliases"',
  ]);
});

Deno.test("printConfig() keeps filter arguments byte for byte, tabs and `$` included", () => {
  const printed = assertRoundTrip('filter "f" proc-exec "a\tb $x"\n');
  assertEquals(printed, 'filter "f" proc-exec "a\tb $x"\n');
});

Deno.test("printConfig() keeps a one-value tag table a table, and empty strings", () => {
  assertRoundTrip('action "a" relay mail-from "" helo ""\nmatch tag { "T" } action "a"\n');
  const printed = assertRoundTrip('action "a" mbox\nmatch tag { "T" } action "a"\n');
  assertEquals(printed.split("\n").at(-2), 'match tag { "T" } action "a"');
});

Deno.test("parseConfig() refuses numbers too large to hold exactly", () => {
  assertEquals(errorsOf("queue ttl 99999999999999999999d\n"), [
    '1:11: Bad duration "99999999999999999999d": expected a number with s, m, h or d',
  ]);
  assertEquals(errorsOf("smtp max-message-size 9999999999999999G\n"), [
    '1:23: Bad size "9999999999999999G": expected a number with K, M or G',
  ]);
  assertEquals(errorsOf(`smtp limit max-rcpt ${"9".repeat(30)}\n`), [
    `1:21: Bad number "${"9".repeat(30)}"`,
  ]);
  assertRoundTrip(`queue ttl ${2 ** 53 - 1}s\nsmtp max-message-size 8191T\n`);
});

Deno.test("legacy rules the modern grammar cannot say are refused where they are written", () => {
  assertEquals(errorsOf("accept for any relay auth <creds>\ntable creds { u = p }\n"), [
    '1:1: "auth" needs a "host" to authenticate to',
  ]);
  assertEquals(errorsOf('accept for any relay via "not a url"\n'), [
    '1:26: Bad relay URL "not a url": expected [proto://][label@]host[:port]',
  ]);
  assertEquals(errorsOf("accept for local deliver to mbox as bob\n"), [
    '1:34: "as" cannot be used with mbox',
  ]);
  assertEquals(errorsOf("table a { x = y }\naccept for any alias <a> relay\n"), [
    '2:16: "alias" cannot be used with relay',
  ]);
  assertEquals(errorsOf("reject from any for any expire 4h\n"), [
    '1:25: A reject rule delivers nothing: "expire" has no use',
  ]);
  assertEquals(errorsOf("accept for local deliver to mbox relay\n"), [
    '1:34: "relay" is a second delivery: this rule already has "deliver"',
  ]);
  assertEquals(errorsOf("accept tagged A tagged B for any relay\n"), [
    '1:17: "tagged" is given twice in this rule',
  ]);
  assertEquals(errorsOf("accept for local from any for any relay\n"), [
    '1:27: "for" is given twice in this rule',
  ]);
});

Deno.test("legacy relay backup [NAME] prints as the modern backup [mx NAME]", () => {
  // smtpd.conf(5) 6.0: `relay backup [mx]`, the MX name a bare word or a quoted string.
  for (const name of ["mx2.example.com", '"mx2.example.com"']) {
    const printed = assertRoundTrip(`accept for any relay backup ${name}\n`);
    assertEquals(printed.includes('relay backup mx "mx2.example.com"'), true, printed);
  }
  const named = assertRoundTrip("accept for any relay backup mx2.example.com tls\n");
  assertEquals(named.includes('relay backup mx "mx2.example.com" tls no-verify'), true, named);
  const plain = assertRoundTrip("accept for any relay backup\n");
  assertEquals(/relay backup\n/.test(plain), true, plain);
  assertEquals(errorsOf("accept for any relay backup a backup b\n"), [
    "1:31: backup already specified for this dispatcher",
  ]);
});

Deno.test("legacy relay via refuses verify with a protocol that does not require TLS", () => {
  // OpenSMTPD 6.0 parse.y: `cannot "verify" with insecure protocol`.
  for (
    const url of ["smtp://mx.test", "smtp+tls://mx.test", "backup://mx.test", "lmtp://mx.test:24"]
  ) {
    const column = "accept for any relay via ".length + url.length + 2;
    assertEquals(errorsOf(`accept for any relay via ${url} verify\n`), [
      `1:${column}: Cannot "verify" with an insecure protocol: relay via tls:// or smtps:// to verify`,
    ]);
  }
  assertRoundTrip("accept for any relay via tls://mx.test verify\n");
  assertRoundTrip("accept for any relay via smtps://mx.test verify\n");
});

Deno.test("listen refuses a second TLS mode or port given by a legacy word", () => {
  assertEquals(errorsOf("listen on lo0 smtps secure\n"), ['1:21: "secure" conflicts with "smtps"']);
  assertEquals(errorsOf("listen on lo0 port 25 submission\n"), [
    "1:23: port already specified",
  ]);
});

Deno.test("parseConfig() keeps apart the inline tables of a file included twice", () => {
  const files: Record<string, string> = {
    "/etc/mail/rule.conf": 'match from src { $net } for any action "a"\n',
  };
  const { config } = parseConfig(
    'action "a" mbox\nnet = "192.0.2.1"\ninclude "rule.conf"\n' +
      'net = "198.51.100.0/24"\ninclude "rule.conf"\n',
    {
      file: "/etc/mail/smtpd.conf",
      readFile: (path) => files[path] ?? Deno.readTextFileSync(path),
    },
  );
  if (!config) throw new Error("refused");
  assertEquals(printConfig(config).split("\n").slice(-3), [
    'match from src "192.0.2.1" for any action "a"',
    'match from src "198.51.100.0/24" for any action "a"',
    "",
  ]);
});

Deno.test("printConfig() prints a builtin filter's inline and named tables so they read back", () => {
  const printed = assertRoundTrip(
    'table "bad names" { "x.example" }\n' +
      "filter check_dyndns phase connect match rdns regex { '.*\\.dyn\\..*', '.*\\.dsl\\..*' } " +
      'disconnect "550 no residential connections"\n' +
      'filter f2 phase connect match src <"bad names"> junk\n' +
      "listen on 127.0.0.1 filter { check_dyndns, f2 }\n",
  );
  assertEquals(printed.split("\n").filter((l) => l.startsWith("filter")), [
    'filter "check_dyndns" phase connect match rdns regex { ".*\\.dyn\\..*", ".*\\.dsl\\..*" } ' +
    'disconnect "550 no residential connections"',
    'filter "f2" phase connect match src <"bad names"> junk',
  ]);
});
