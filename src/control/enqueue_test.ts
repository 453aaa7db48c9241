// prepareMessage() in-process: byte-exact content and the refusals, on the inputs the
// sendmail fuzzer found tricky.

import { assertEquals, assertThrows } from "../../test/assert.ts";
import { EnqueueError, prepareMessage } from "./enqueue.ts";

function prepare(input: Uint8Array, options: { recipients?: string[]; extract?: boolean } = {}) {
  return prepareMessage({
    input,
    recipients: options.recipients ?? [],
    extractRecipients: options.extract ?? false,
    ignoreDots: false,
    hostname: "mx.example.test",
    user: "tester",
    msgid: "0123abcd",
    now: new Date(0),
  });
}

Deno.test("prepareMessage() reads -t recipients from a UTF-8 header ending in a 0xA0 byte", () => {
  // "à" is C3 A0: a blank-trimming that counts 0xA0 as a space would cut it in half.
  const input = new TextEncoder().encode("To: bob@example.test, voil\u00e0\nSubject: x\n\nx\n");
  assertEquals(prepare(input, { extract: true }).recipients, [
    "bob@example.test",
    "voil\u00e0@mx.example.test",
  ]);
});

Deno.test("prepareMessage() keeps every byte after our headers, a final empty line included", () => {
  const body = [0x80, 0xff, 0x00, 0x0d, 0x41, 0x0a, 0x0a];
  const input = new Uint8Array([
    ...new TextEncoder().encode("Date: x\nMessage-ID: <m@x>\nFrom: a@x\n\n"),
    ...body,
  ]);
  const content = prepare(input, { recipients: ["bob@example.test"] }).content;
  // The empty line after the headers, then the body: a CR inside a line stays, LF ends
  // become CRLF, and the final empty line is still there.
  const tail = [...content.subarray(content.length - 11)];
  assertEquals(tail, [0x0d, 0x0a, 0x80, 0xff, 0x00, 0x0d, 0x41, 0x0d, 0x0a, 0x0d, 0x0a]);
});

Deno.test("prepareMessage() refuses a control character in a recipient, naming it", () => {
  const input = new TextEncoder().encode("To: a\u0000b@example.test\n\nx\n");
  assertThrows(
    () => prepare(input, { extract: true }),
    EnqueueError,
    'recipient "a\\u0000b@example.test" holds a control character',
  );
  assertThrows(
    () => prepare(input, { recipients: ["c\u0085@example.test"] }),
    EnqueueError,
    'recipient "c\\u0085@example.test" holds a control character',
  );
});

function text(input: string, options: { recipients?: string[]; extract?: boolean } = {}) {
  const content = prepare(new TextEncoder().encode(input), options).content;
  return new TextDecoder().decode(content);
}

const RECEIVED = "Received: by mx.example.test (OpenSMTPD) with LOCAL id 0123abcd\r\n" +
  "\tfor <bob@far.test>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n";
const ADDED = "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n" +
  "Message-ID: <0123abcd@mx.example.test>\r\nFrom: tester@mx.example.test\r\n";

Deno.test("prepareMessage() ends the headers at the first line that is not one", () => {
  assertEquals(
    text("Subject: t2\nX-Long: a\n\tfolded\nThis is body without blank\nmore\n", {
      recipients: ["bob@far.test"],
    }),
    RECEIVED + ADDED + "Subject: t2\r\nX-Long: a\r\n\tfolded\r\n\r\n" +
      "This is body without blank\r\nmore\r\n",
  );
});

Deno.test("prepareMessage() drops an mbox From line before the headers, -t included", () => {
  const input = "From me@x.test Mon Jan  1 00:00:00 2024\nTo: bob@far.test\n" +
    "Subject: mbox\n\nbody\nFrom the body\n";
  const expected = RECEIVED + ADDED + "To: bob@far.test\r\nSubject: mbox\r\n\r\n" +
    "body\r\nFrom the body\r\n";
  assertEquals(text(input, { recipients: ["bob@far.test"] }), expected);
  assertEquals(text(input, { extract: true }), expected);
  // Without headers after it, the line is body, as everything else is.
  assertEquals(
    text("From the desk of Bob\nhello\n", { recipients: ["bob@far.test"] }),
    RECEIVED + ADDED + "\r\nFrom the desk of Bob\r\nhello\r\n",
  );
});

Deno.test("prepareMessage() reads RFC 5322 groups in -t headers", () => {
  const prepared = prepare(
    new TextEncoder().encode(
      "To: friends: a@far.test, Bee <b@far.test>;, c@far.test\n" +
        'Cc: undisclosed-recipients:;\nBcc: "x: y" <d@far.test>\n\nx\n',
    ),
    { extract: true },
  );
  assertEquals(prepared.recipients, ["a@far.test", "b@far.test", "c@far.test", "d@far.test"]);
});

Deno.test("prepareMessage() takes -f as Name <addr>, <addr> or addr", () => {
  const sender = (value: string) =>
    prepareMessage({
      input: new TextEncoder().encode("Subject: x\n\nx\n"),
      recipients: ["bob@far.test"],
      sender: value,
      extractRecipients: false,
      ignoreDots: true,
      hostname: "mx.example.test",
      user: "tester",
      msgid: "0123abcd",
      now: new Date(0),
    }).sender;
  assertEquals(sender("John Smith <john@x.test>"), "john@x.test");
  assertEquals(sender("<john@x.test>"), "john@x.test");
  assertEquals(sender("john@x.test"), "john@x.test");
  assertEquals(sender("app"), "app@mx.example.test");
  assertEquals(sender("<>"), "");
  assertThrows(() => sender("John <john@x.test"), EnqueueError, 'sender "John <john@x.test" is');
});

Deno.test("prepareMessage() refuses an address the SMTP server would refuse, naming it", () => {
  for (const bad of ["x y@far.test", "a@b@far.test", "@far.test", "<bad>@far.test", "a@"]) {
    assertThrows(
      () => prepare(new TextEncoder().encode("Subject: x\n\nx\n"), { recipients: [bad] }),
      EnqueueError,
      `recipient ${JSON.stringify(bad)} is not a valid address`,
    );
  }
  assertThrows(
    () =>
      prepare(new TextEncoder().encode("To: ok@far.test, <x>@far.test\n\nx\n"), { extract: true }),
    EnqueueError,
    'recipient "<x>@far.test" is not a valid address',
  );
});
