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
