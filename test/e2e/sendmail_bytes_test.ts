// sendmail as programs run it, fed bytes: what it queues is what it was given, 8-bit bytes
// and a final empty line included, plus only the headers it adds; a recipient holding a
// control character is refused with EX_USAGE before anything is queued.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { checkQueued } from "../fuzz/_sendmail_cases.ts";
import { readQueued, runSendmailProcess, sendmailScratch } from "../fuzz/_sendmail_process.ts";
import { openQueue } from "../../src/queue/mod.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

function bytes(...parts: (string | number[])[]): Uint8Array {
  return new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );
}

function crlf(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of input) out.push(...(b === 0x0a ? [0x0d, 0x0a] : [b]));
  return new Uint8Array(out);
}

// Latin-1 and raw 8-bit bytes that are not UTF-8, in a header and in the body, a NUL in
// the body, and the message ending in an empty line.
const EIGHT_BIT = bytes(
  "From: Jos",
  [0xe9],
  " <jose@example.test>\nTo: alice@example.test\nSubject: caf",
  [0xc3, 0xa9, 0x20, 0xff, 0xfe],
  "\nDate: Tue, 1 Dec 2026 12:00:00 +0000\nMessage-ID: <given@example.test>\n\nbody ",
  [0x80, 0x81, 0x00, 0xf0, 0x9f, 0x93, 0xa7],
  "\n\tindented\n\n",
);

Deno.test("sendmail queues 8-bit headers and body byte for byte, a final empty line kept", async () => {
  const scratch = await sendmailScratch();
  const run = await runSendmailProcess(scratch, ["alice@example.test"], EIGHT_BIT);
  assertEquals(run.code, 0, run.stderr);
  assertTrue(run.msgid, run.stderr);
  const { content, recipients } = await readQueued(scratch, run.msgid);
  assertEquals(recipients, ["alice@example.test"]);
  // Our Received: (three lines), then exactly the input with CRLF line ends.
  const text = String.fromCharCode(...content);
  assertMatch(
    text,
    /^Received: by mx\.example\.test \(OpenSMTPD\) with LOCAL id [0-9a-f]{8}\r\n\tfor <alice@example\.test>;\r\n\t[^\r\n]+\r\n/,
  );
  const received = text.split("\r\n").slice(0, 3).join("\r\n").length + 2;
  assertEquals([...content.subarray(received)], [...crlf(EIGHT_BIT)]);

  // Delivered, the Maildir file holds the input's own bytes (LF line ends) after the headers
  // of the trip.
  const flushed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "queue", "flush", "-f", scratch.conf],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(flushed.code, 0, new TextDecoder().decode(flushed.stderr));
  const files = [...Deno.readDirSync(`${scratch.dir}/mail/alice/new`)];
  assertEquals(files.length, 1);
  const delivered = Deno.readFileSync(`${scratch.dir}/mail/alice/new/${files[0]!.name}`);
  const tail = delivered.subarray(delivered.length - EIGHT_BIT.length);
  assertEquals([...tail], [...EIGHT_BIT]);
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail adds only Date:, Message-ID: and From: when missing, and drops Bcc:", async () => {
  const scratch = await sendmailScratch();
  const input = bytes("Subject: r", [0xe9], "sum", [0xe9], "\nBcc: bob@example.test\n\nline\n\n\n");
  const run = await runSendmailProcess(
    scratch,
    ["-t", "-F", "Jos\u00e9", "carol@example.test"],
    input,
  );
  assertEquals(run.code, 0, run.stderr);
  const { content, recipients } = await readQueued(scratch, run.msgid!);
  assertEquals(recipients.sort(), ["bob@example.test", "carol@example.test"]);
  checkQueued({
    input,
    recipients: [],
    extract: true,
    ignoreDots: false,
    exit: 0,
    expected: {
      headers: crlf(bytes("Subject: r", [0xe9], "sum", [0xe9], "\n")),
      added: ["Date", "Message-ID", "From"],
      body: crlf(bytes("line\n\n\n")),
    },
  }, content);
  // -F is text: it goes into From: as UTF-8.
  assertStringIncludes(new TextDecoder().decode(content), '\r\nFrom: "Jos\u00e9" <');
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail -t refuses a recipient holding a NUL with exit 64, queueing nothing", async () => {
  const scratch = await sendmailScratch();
  const input = bytes("To: ali", [0x00], "ce@example.test, bob@example.test\nSubject: x\n\nx\n");
  const run = await runSendmailProcess(scratch, ["-t"], input);
  assertEquals(run.code, 64);
  assertEquals(
    run.stderr,
    'sendmail: recipient "ali\\u0000ce@example.test" holds a control character\n',
  );
  const queue = await openQueue(`${scratch.dir}/queue`);
  assertEquals(queue.envelopes().length, 0, "nothing is queued");
  queue.close();
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail refuses control characters in recipients, -f and -F with exit 64", async () => {
  const scratch = await sendmailScratch();
  const message = bytes("Subject: x\n\nx\n");
  const cases: [string[], string][] = [
    [["bob\x01@example.test"], 'recipient "bob\\u0001@example.test"'],
    [["-f", "app\x7f@example.test", "bob@example.test"], 'sender "app\\u007f@example.test"'],
    [["-F", "x\r\nBcc: eve@example.test", "bob@example.test"], 'full name "x\\r\\nBcc: eve'],
  ];
  for (const [args, what] of cases) {
    const run = await runSendmailProcess(scratch, args, message);
    assertEquals(run.code, 64, `${JSON.stringify(args)}: ${run.stderr}`);
    assertStringIncludes(run.stderr, `sendmail: ${what}`);
    assertStringIncludes(run.stderr, "holds a control character");
  }
  const queue = await openQueue(`${scratch.dir}/queue`);
  assertEquals(queue.envelopes().length, 0, "nothing is queued");
  queue.close();
  await Deno.remove(scratch.dir, { recursive: true });
});
