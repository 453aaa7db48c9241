// parseMtaStsPolicy() takes what RFC 8461 §3.2 allows and refuses the rest by name;
// mxMatchesPolicy() lets a wildcard stand for exactly one leftmost label (§4.1).

import { assertEquals } from "../../test/assert.ts";
import { mxMatchesPolicy, parseMtaStsPolicy } from "./mta_sts_policy.ts";

Deno.test("parseMtaStsPolicy() reads every field, with LF or CRLF lines, in any order", () => {
  assertEquals(
    parseMtaStsPolicy(
      "mode: enforce\nversion: STSv1\nmx: MX1.Example.org.\r\nmx: *.example.net\nmax_age: 604800\n",
      "7",
    ),
    { mode: "enforce", mx: ["mx1.example.org", "*.example.net"], maxAge: 604800, id: "7" },
  );
  // max_age is capped at a year.
  assertEquals(
    parseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 99999999\n", "1"),
    { mode: "none", mx: [], maxAge: 31557600, id: "1" },
  );
});

Deno.test("parseMtaStsPolicy() ignores extension fields, whose names may hold '-' and '.'", () => {
  assertEquals(
    parseMtaStsPolicy(
      "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n" +
        "x-policy-note: hello\nfuture.ext: 1\nfuture_ext: 2\n",
      "3",
    ),
    { mode: "enforce", mx: ["mx.example.org"], maxAge: 86400, id: "3" },
  );
  // A name longer than 32 characters, or one that starts with a sign, is no field.
  const long = `x${"-".repeat(32)}`;
  assertEquals(
    parseMtaStsPolicy(`version: STSv1\nmode: none\nmax_age: 1\n${long}: 1\n`, "1"),
    `not a "key: value" line: "${long}: 1"`,
  );
  assertEquals(
    parseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 1\n-x: 1\n", "1"),
    'not a "key: value" line: "-x: 1"',
  );
});

Deno.test("parseMtaStsPolicy() says why a text is not a policy", () => {
  assertEquals(parseMtaStsPolicy("mode: enforce\nmx: a\nmax_age: 1\n", "1"), 'no "version: STSv1"');
  assertEquals(
    parseMtaStsPolicy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", "1"),
    'mode "strict" is not enforce, testing or none',
  );
  assertEquals(
    parseMtaStsPolicy("version: STSv1\nmode: enforce\nmax_age: 1\n", "1"),
    "mode enforce without any mx",
  );
  assertEquals(
    parseMtaStsPolicy("version: STSv1\nmode: testing\nmx: a\nmax_age: soon\n", "1"),
    'max_age "soon" is not a number',
  );
  assertEquals(
    parseMtaStsPolicy("<html>\n", "1"),
    'not a "key: value" line: "<html>"',
  );
});

Deno.test("mxMatchesPolicy() matches names exactly and wildcards one label deep", () => {
  const policy = { mx: ["mail.example.org", "*.example.net"] };
  assertEquals(mxMatchesPolicy("MAIL.example.org.", policy), true);
  assertEquals(mxMatchesPolicy("mx1.example.net", policy), true);
  assertEquals(mxMatchesPolicy("example.net", policy), false);
  assertEquals(mxMatchesPolicy("a.mx1.example.net", policy), false);
  assertEquals(mxMatchesPolicy("mail.example.org.evil.test", policy), false);
});
