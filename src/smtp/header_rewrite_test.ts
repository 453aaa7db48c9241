import { assertEquals, assertTrue } from "../../test/assert.ts";
import { fillsMissingHeaders, rewriteHeader } from "./header_rewrite.ts";
import { qualifyAddresses } from "./qualify_addresses.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const text = (content: Uint8Array) => String.fromCharCode(...content);
const MX = { hostname: "mx.test" };
const SUBMISSION = {
  ...MX,
  addMissing: { msgid: "0123abcd", date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
};

Deno.test("rewriteHeader() gives back the same array when nothing needs a change", () => {
  const content = bytes(
    "To: a@b.test\r\nCc: c@d.test,\r\n e@f.test\r\nSubject: s\r\n\r\nBcc: x\r\n",
  );
  assertTrue(rewriteHeader(content, MX) === content);
  const dated = bytes("Date: x\r\nMESSAGE-ID: <y@z>\r\n\r\n");
  assertTrue(rewriteHeader(dated, SUBMISSION) === dated);
});

Deno.test("rewriteHeader() drops every Bcc: field on any listener, and adds nothing off submission", () => {
  const content = bytes(
    "Bcc: a@b.test\r\nSubject: s\r\nBCC : c@d.test,\r\n\te@f.test\r\nTo: g@h.test\r\n\r\nbody\xff\r\n",
  );
  assertEquals(text(rewriteHeader(content, MX)), "Subject: s\r\nTo: g@h.test\r\n\r\nbody\xff\r\n");
});

Deno.test("rewriteHeader() adds Date: and Message-ID: after the last field on submission", () => {
  assertEquals(
    text(rewriteHeader(bytes("Subject: s\r\nBcc: x\r\n\r\nhi\r\n"), SUBMISSION)),
    "Subject: s\r\nDate: Fri, 2 Jan 2026 03:04:05 +0000\r\n" +
      "Message-ID: <0123abcd@mx.test>\r\n\r\nhi\r\n",
  );
  // A header that the content ends in, without a line end, gets one first.
  assertEquals(
    text(rewriteHeader(bytes("Subject: s\r\nDate: d"), SUBMISSION)),
    "Subject: s\r\nDate: d\r\nMessage-ID: <0123abcd@mx.test>\r\n",
  );
  // The header ends at the first line that is no field: the rest is body, left alone.
  assertEquals(
    text(rewriteHeader(bytes("Subject: s\nnot a field\nDate: d\n"), SUBMISSION)),
    "Subject: s\nDate: Fri, 2 Jan 2026 03:04:05 +0000\r\n" +
      "Message-ID: <0123abcd@mx.test>\r\nnot a field\nDate: d\n",
  );
});

Deno.test("rewriteHeader() completes From, To and Cc only, keeping 8-bit octets", () => {
  assertEquals(
    text(
      rewriteHeader(bytes("From: J\xc3\xb6rg <j>\r\nReply-To: r\r\nto: t\r\n\r\nTo: b\r\n"), MX),
    ),
    "From: J\xc3\xb6rg <j@mx.test>\r\nReply-To: r\r\nto: t@mx.test\r\n\r\nTo: b\r\n",
  );
});

Deno.test("rewriteHeader() folds after a comma a line that completion takes past 998 octets", () => {
  const names = Array.from({ length: 150 }, (_, i) => `n${i}`);
  const out = text(rewriteHeader(bytes(`Cc: ${names.join(",")}\r\nSubject: s\r\n\r\nb\r\n`), MX));
  const lines = out.split("\r\n");
  assertTrue(lines.length > 4 && lines.every((line) => line.length <= 998));
  // A comma with no blank after it gets one to fold with; unfolded, the value is the same.
  assertEquals(
    out.replaceAll("\r\n ", ""),
    `Cc: ${names.map((n) => `${n}@mx.test`).join(",")}\r\nSubject: s\r\n\r\nb\r\n`,
  );
  // Fold at commas only: none in quotes or comments, and the last one that fits.
  const quoted = `To: "a, b" <x>, ${"y".repeat(960)} (c, d), z\r\n`;
  assertEquals(
    text(rewriteHeader(bytes(quoted), MX)),
    `To: "a, b" <x@mx.test>,\r\n ${"y".repeat(960)}@mx.test (c, d), z@mx.test\r\n`,
  );
});

Deno.test("rewriteHeader() leaves a line that was over 998 octets before completion as it was", () => {
  const long = `To: ${"a@b.test, ".repeat(100)}c\r\n`;
  assertEquals(text(rewriteHeader(bytes(long), MX)), long.replace(", c\r\n", ", c@mx.test\r\n"));
  // Only the line completion took past the limit is folded, not the others of the field.
  const field = `To: ${"a@b.test, ".repeat(100)}c,\r\n ${"d, ".repeat(320)}e\r\n`;
  const out = text(rewriteHeader(bytes(field), MX)).split("\r\n");
  assertEquals(out[0], `To: ${"a@b.test, ".repeat(100)}c@mx.test,`);
  assertTrue(out.length > 3 && out.slice(1).every((line) => line.length <= 998));
});

Deno.test("qualifyAddresses() appends the domain where an address has none", () => {
  const cases: [string, string][] = [
    [" bob", " bob@mx.test"],
    [" bob,\r\n alice\r\n", " bob@mx.test,\r\n alice@mx.test\r\n"],
    [" Bob <bob >", " Bob <bob@mx.test >"],
    [" bob (Bob, Smith)", " bob@mx.test (Bob, Smith)"],
    [' "Smith, Bob" <bob>', ' "Smith, Bob" <bob@mx.test>'],
    [' "bob smith"', ' "bob smith"@mx.test'],
    [" b@c.test, d", " b@c.test, d@mx.test"],
    [" undisclosed-recipients:;", " undisclosed-recipients:;"],
    [" team: a, b;", " team: a, b;"],
    [" <>", " <>"],
    [" a,, ", " a@mx.test,, "],
    [' "open', ' "open'],
    [" (open", " (open"],
    [" <a", " <a"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(qualifyAddresses(value, "mx.test"), expected, JSON.stringify(value));
  }
});

Deno.test("fillsMissingHeaders() holds for the socket, 127.0.0.1, ::1 and port 587 alone", () => {
  const on = (address: string, port = 25, socketPath?: string) =>
    fillsMissingHeaders({ address, port, ...(socketPath ? { socketPath } : {}) });
  assertEquals(
    [on("127.0.0.1"), on("::1"), on("0:0:0:0:0:0:0:1"), on("192.0.2.1", 587), on("x", 0, "/s")],
    [true, true, true, true, true],
  );
  assertEquals([on("127.0.0.2"), on("0.0.0.0"), on("::"), on("192.0.2.1", 465)], [
    false,
    false,
    false,
    false,
  ]);
});
