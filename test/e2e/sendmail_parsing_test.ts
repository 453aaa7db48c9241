// sendmail as programs run it, on what it must read as OpenSMTPD's sendmail does: -f with
// a display name, addresses the SMTP server would refuse (exit 64, nothing queued),
// headers that end without an empty line or follow an mbox From line, RFC 5322 groups
// with -t, and -E / -J whose value is only ever attached.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import {
  readQueued,
  runSendmailProcess,
  type SendmailScratch,
  sendmailScratch,
} from "../fuzz/_sendmail_process.ts";
import { openQueue } from "../../src/queue/mod.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function queuedEnvelopes(scratch: SendmailScratch) {
  const queue = await openQueue(`${scratch.dir}/queue`);
  try {
    return queue.envelopes().map((e) => ({ msgid: e.msgid, sender: e.sender, rcpt: e.rcpt }));
  } finally {
    queue.close();
  }
}

// The queued message after our Received: and the Date: and Message-ID: sendmail adds
// (their values vary), as text.
async function queuedAfterDate(scratch: SendmailScratch, msgid: string) {
  const { content } = await readQueued(scratch, msgid);
  const text = new TextDecoder().decode(content);
  assertMatch(
    text,
    /^Received: by mx\.example\.test \(OpenSMTPD\) with LOCAL id [0-9a-f]{8}\r\n\t[^\r\n]+\r\n\t[^\r\n]+\r\nDate: [^\r\n]+\r\nMessage-ID: <[0-9a-f]{8}@mx\.example\.test>\r\n/,
  );
  return text.split("\r\n").slice(5).join("\r\n");
}

Deno.test("sendmail -f takes the address of Name <addr> as the envelope sender", async () => {
  const scratch = await sendmailScratch();
  const run = await runSendmailProcess(
    scratch,
    ["-f", "John Smith <john@example.test>", "carol@example.test"],
    encode("Subject: x\n\nx\n"),
  );
  assertEquals(run.code, 0, run.stderr);
  assertEquals(await queuedEnvelopes(scratch), [
    { msgid: run.msgid, sender: "john@example.test", rcpt: "carol@example.test" },
  ]);
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail refuses with exit 64 an address the SMTP server refuses, queueing nothing", async () => {
  const scratch = await sendmailScratch();
  const message = encode("Subject: x\n\nx\n");
  const cases: [string[], string][] = [
    [["x y@example.test"], 'recipient "x y@example.test"'],
    [["a@b@example.test"], 'recipient "a@b@example.test"'],
    [["@example.test"], 'recipient "@example.test"'],
    [["<bad>@example.test"], 'recipient "<bad>@example.test"'],
    [["-f", "John <john@example.test", "bob@example.test"], 'sender "John <john@example.test"'],
    [["-f", "a b@example.test", "bob@example.test"], 'sender "a b@example.test"'],
  ];
  for (const [args, what] of cases) {
    const run = await runSendmailProcess(scratch, args, message);
    assertEquals(
      [run.code, run.stderr],
      [64, `sendmail: ${what} is not a valid address\n`],
      JSON.stringify(args),
    );
  }
  const headers = encode("To: ok@example.test, <bad>@example.test\nSubject: x\n\nx\n");
  const run = await runSendmailProcess(scratch, ["-t"], headers);
  assertEquals(
    [run.code, run.stderr],
    [64, 'sendmail: recipient "<bad>@example.test" is not a valid address\n'],
  );
  assertEquals(await queuedEnvelopes(scratch), [], "nothing is queued");
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail -V refuses an envelope id that is not printable ASCII or too long, queueing nothing", async () => {
  const scratch = await sendmailScratch();
  const message = encode("Subject: x\n\nx\n");
  const refused = "sendmail: -V: the envelope id must be printable ASCII, 100 characters at most\n";
  for (const envid of ["abc\r\nX-Injected: yes", "tab\there", "é", "+".repeat(34)]) {
    const run = await runSendmailProcess(scratch, ["-V", envid, "bob@example.test"], message);
    assertEquals([run.code, run.stderr], [64, refused], JSON.stringify(envid));
  }
  assertEquals(await queuedEnvelopes(scratch), [], "nothing is queued");
  // Printable, with a space and "+", within 100 octets as xtext: taken as given.
  const run = await runSendmailProcess(scratch, ["-V", "id 1+2", "bob@example.test"], message);
  assertEquals(run.code, 0, run.stderr);
  const queue = await openQueue(`${scratch.dir}/queue`);
  try {
    assertEquals(queue.envelopes().length, 1);
    assertEquals(queue.messageInfo(run.msgid!)?.dsnEnvid, "id 1+2");
  } finally {
    queue.close();
  }
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail ends the headers at the first line that is not a header", async () => {
  const scratch = await sendmailScratch();
  const run = await runSendmailProcess(
    scratch,
    ["carol@example.test"],
    encode("Subject: t2\nThis is body without blank\nmore\n"),
  );
  assertEquals(run.code, 0, run.stderr);
  assertTrue(run.msgid, run.stderr);
  assertEquals(
    await queuedAfterDate(scratch, run.msgid),
    `From: ${await loginName()}@mx.example.test\r\nSubject: t2\r\n\r\n` +
      "This is body without blank\r\nmore\r\n",
  );
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail drops a Return-Path: header with its continuation, and keeps one in the body", async () => {
  const scratch = await sendmailScratch();
  const run = await runSendmailProcess(
    scratch,
    ["carol@example.test"],
    encode(
      "return-path: <forged@evil.test>\n\t(folded)\nSubject: rp\n\nReturn-Path: <body@text>\n",
    ),
  );
  assertEquals(run.code, 0, run.stderr);
  assertTrue(run.msgid, run.stderr);
  assertEquals(
    await queuedAfterDate(scratch, run.msgid),
    `From: ${await loginName()}@mx.example.test\r\nSubject: rp\r\n\r\n` +
      "Return-Path: <body@text>\r\n",
  );
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail drops an mbox From line before the headers, with and without -t", async () => {
  const scratch = await sendmailScratch();
  const input = encode(
    "From someone@example.test Mon Jan  1 00:00:00 2024\nTo: bob@example.test\n" +
      "Subject: mbox\n\nbody\n",
  );
  const expected = `From: ${await loginName()}@mx.example.test\r\n` +
    "To: bob@example.test\r\nSubject: mbox\r\n\r\nbody\r\n";
  for (const args of [["dave@example.test"], ["-t"]]) {
    const run = await runSendmailProcess(scratch, args, input);
    assertEquals(run.code, 0, run.stderr);
    assertTrue(run.msgid, run.stderr);
    assertEquals(await queuedAfterDate(scratch, run.msgid), expected, args.join(" "));
  }
  assertEquals((await queuedEnvelopes(scratch)).map((e) => e.rcpt).sort(), [
    "bob@example.test",
    "dave@example.test",
  ]);
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail -t sends to every member of an RFC 5322 group", async () => {
  const scratch = await sendmailScratch();
  const run = await runSendmailProcess(
    scratch,
    ["-t"],
    encode(
      "To: friends: a@example.test, b@example.test;\nCc: undisclosed-recipients:;\n" +
        "Subject: grp\n\nx\n",
    ),
  );
  assertEquals(run.code, 0, run.stderr);
  assertEquals((await queuedEnvelopes(scratch)).map((e) => e.rcpt).sort(), [
    "a@example.test",
    "b@example.test",
  ]);
  await Deno.remove(scratch.dir, { recursive: true });
});

Deno.test("sendmail -E and -J take only an attached value: the next word is a recipient", async () => {
  const scratch = await sendmailScratch();
  const message = encode("Subject: x\n\nb\n");
  const cases: [string[], string[]][] = [
    [["-E", "g1@example.test"], ["g1@example.test"]],
    [["-J", "g2@example.test"], ["g2@example.test"]],
    [["-tE", "g3@example.test"], ["g3@example.test"]],
    [["-Ex", "-Jy", "g4@example.test"], ["g4@example.test"]],
    [["-F", "-E", "g5@example.test"], ["g5@example.test"]],
  ];
  for (const [args, rcpts] of cases) {
    const run = await runSendmailProcess(scratch, args, message);
    assertEquals(run.code, 0, `${JSON.stringify(args)}: ${run.stderr}`);
    assertTrue(run.msgid, run.stderr);
    assertEquals((await readQueued(scratch, run.msgid)).recipients, rcpts);
  }
  await Deno.remove(scratch.dir, { recursive: true });
});

// The caller's login name, as sendmail finds it (the password file by uid).
async function loginName(): Promise<string> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  const uid = String(Deno.uid());
  const line = passwd.split("\n").find((l) => l.split(":")[2] === uid);
  return line?.split(":")[0] ?? Deno.env.get("USER") ?? "root";
}
