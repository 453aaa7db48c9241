// What a fuzzed SMTP client says: commands and parameters drawn from lists of valid and
// broken forms, message bodies that carry a unique token, and the mutations (NULs, bare CR
// and LF, 8-bit and random bytes, truncation, overlong lines) applied on top.

import type { Random } from "./_harness.ts";

const encoder = new TextEncoder();

/** Recipients of the fuzz messages; no one-byte change turns one into another. */
export const MESSAGE_RECIPIENTS = ["alice", "bob", "carol", "dave"] as const;

const HELLO_VERBS = ["EHLO", "HELO", "ehlo", "HeLo", "LHLO", "EHLO  "];
const DOMAINS = [
  "client.test",
  "[127.0.0.1]",
  "[IPv6:::1]",
  "",
  "x".repeat(300),
  "two words",
  "\u00fcn\u00efcode.test",
  "a..b",
  "-bad-.test",
  "[999.1.1.1]",
];
const SENDERS = [
  "<a@client.test>",
  "<>",
  "<a@[127.0.0.1]>",
  "a@client.test",
  "<@relay.test:a@client.test>",
  '<"quoted user"@client.test>',
  "<a@client.test",
  `<${"l".repeat(300)}@client.test>`,
  "<postmaster>",
  "<\u00e9@client.test>",
  "<a b@client.test>",
];
const MAIL_PARAMETERS = [
  "SIZE=100",
  "SIZE=99999999999",
  "SIZE=-1",
  "SIZE=abc",
  "BODY=8BITMIME",
  "BODY=BINARYMIME",
  "BODY=7BIT",
  "BODY=",
  "SMTPUTF8",
  "RET=FULL",
  "RET=HDRS",
  "RET=NONE",
  "ENVID=abc+2Bdef",
  "ENVID=",
  "AUTH=<>",
  "AUTH=fuzz@client.test",
  "FOO=BAR",
  "=",
  "SIZE",
  "SIZE=1 SIZE=2",
];
const BAD_RECIPIENTS = [
  "<>",
  "<x@far.test>",
  "<postmaster>",
  "<alice@example.test",
  "alice@example.test",
  "<@a.test,@b.test:x@far.test>",
  '<"q u"@far.test>',
  `<${"r".repeat(300)}@example.test>`,
  "<x@[127.0.0.1]>",
];
const RCPT_PARAMETERS = [
  "NOTIFY=NEVER",
  "NOTIFY=SUCCESS,FAILURE,DELAY",
  "NOTIFY=NEVER,SUCCESS",
  "NOTIFY=BAD",
  "ORCPT=rfc822;x@example.test",
  "ORCPT=rfc822;x+2Bx@example.test",
  "ORCPT=bad",
  "FOO=1",
];
const SIMPLE_COMMANDS = [
  "RSET",
  "NOOP",
  "NOOP arg",
  "VRFY alice",
  "EXPN list",
  "HELP",
  "HELP MAIL",
  "STARTTLS",
  "STARTTLS now",
  "TURN",
  "ETRN example.test",
  "",
  " ",
  "DATA",
  "MAIL",
  "MAIL FROM",
  "RCPT TO:",
  "QUIT extra",
];
const AUTH_COMMANDS = [
  "AUTH",
  "AUTH PLAIN",
  "AUTH PLAIN !!!!",
  "AUTH PLAIN ====",
  "AUTH PLAIN AGZ1eno=",
  "AUTH PLAIN AGZ1enoAd3Jvbmc=",
  "AUTH LOGIN",
  "AUTH LOGIN Zn V6",
  "AUTH CRAM-MD5",
  "AUTH XOAUTH2 abc",
  "AUTH plain =",
  "AUTH PLAIN " + "QUFB".repeat(200),
];
const AUTH_ANSWERS = ["*", "!!!", "=", "Zm9v", "", "AGZ1eno=", "Zn=V6", "====", "A".repeat(700)];
const BODY_LINES = [
  "",
  ".",
  "..",
  ".x",
  "some text",
  "caf\u00e9 8-bit",
  "nul\0inside",
  "bare\rcr",
  "bare\nlf",
  "x".repeat(1200),
  "From someone",
  "Received: from fake by relay.test; Tue, 1 Dec 2026 00:00:00 +0000",
  "\t folded",
  "--boundary",
];

/** Base64 of AUTH PLAIN's initial response for the fuzz user. */
export function plainResponse(user: string, password: string): string {
  return btoa(`\0${user}\0${password}`);
}

/** Bytes of a line with CRLF. */
export function line(text: string): Uint8Array {
  return encoder.encode(text + "\r\n");
}

/** A HELO or EHLO line. */
export function helloLine(r: Random): string {
  return `${r.pick(HELLO_VERBS)} ${r.chance(0.8) ? "client.test" : r.pick(DOMAINS)}`;
}

/** A MAIL FROM line with parameters, mostly valid. */
export function mailLine(r: Random): string {
  const sender = r.chance(0.7) ? "<a@client.test>" : r.pick(SENDERS);
  const params = r.chance(0.4) ? " " + pickSome(r, MAIL_PARAMETERS, 3).join(" ") : "";
  const verb = r.pick(["MAIL FROM:", "MAIL FROM: ", "mail from:", "MAIL  FROM:"]);
  return `${verb}${sender}${params}`;
}

/** A RCPT TO line for `name@example.test`, or a bad recipient. */
export function rcptLine(r: Random, name: string | undefined): string {
  const rcpt = name === undefined ? r.pick(BAD_RECIPIENTS) : `<${name}@example.test>`;
  const params = r.chance(0.3) ? " " + pickSome(r, RCPT_PARAMETERS, 2).join(" ") : "";
  return `${r.pick(["RCPT TO:", "rcpt to:", "RCPT TO: "])}${rcpt}${params}`;
}

/** A command outside a transaction: the simple ones, or garbage. */
export function simpleLine(r: Random): string {
  if (r.chance(0.8)) return r.pick(SIMPLE_COMMANDS);
  return latin1(r.bytes(1 + r.int(r.chance(0.2) ? 700 : 40))).replace(/[\r\n]/g, " ");
}

/** An AUTH command, and what to answer to its challenges. */
export function authLines(r: Random, user: string, password: string): string[] {
  if (r.chance(0.3)) return [`AUTH PLAIN ${plainResponse(user, password)}`];
  if (r.chance(0.2)) return ["AUTH LOGIN", btoa(user), btoa(r.chance(0.5) ? password : "wrong")];
  const first = r.pick(AUTH_COMMANDS);
  const answers = Array.from({ length: r.int(3) }, () => r.pick(AUTH_ANSWERS));
  return [first, ...answers];
}

/** A message carrying `token`, with the Subject and token header first and never mutated. */
export function messageText(
  r: Random,
  token: string,
): { token: string; head: string; body: string[] } {
  const head = `Subject: fuzz ${token}\r\nX-Fuzz-Token: ${token}\r\n`;
  const body: string[] = [];
  if (r.chance(0.5)) body.push("From: <a@client.test>", "Message-ID: <" + token + "@client.test>");
  if (r.chance(0.02)) {
    for (let i = 0; i < 101; i++) body.push("Received: from fake by relay.test; x");
  }
  body.push("");
  const lines = r.int(r.chance(0.05) ? 2000 : 12);
  for (let i = 0; i < lines; i++) body.push(r.chance(0.7) ? "line " + i : r.pick(BODY_LINES));
  // Now and then more than the listener's 64K.
  if (r.chance(0.03)) { for (let i = 0; i < 70; i++) body.push("y".repeat(990)); }
  return { token, head, body };
}

/** DATA content: dot-stuffed (RFC 5321 §4.5.2) unless `unstuffed`, then the terminator. */
export function dataBytes(message: { head: string; body: string[] }, unstuffed: boolean): string {
  const lines = message.body.map((l) => (!unstuffed && l.startsWith(".") ? "." + l : l));
  return message.head + lines.map((l) => l + "\r\n").join("") + ".\r\n";
}

/** Applies one to three mutations to a line's bytes (CRLF included). */
export function mutate(r: Random, bytes: Uint8Array): Uint8Array {
  let out = [...bytes];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(out.length + 1);
    switch (r.int(9)) {
      case 0:
        out.splice(at, 0, 0);
        break;
      case 1:
        out.splice(at, 0, 0x0d);
        break;
      case 2:
        out.splice(at, 0, 0x0a);
        break;
      case 3:
        out.splice(at, 1);
        break;
      case 4:
        out[Math.min(at, out.length - 1)] = r.int(256);
        break;
      case 5:
        out = out.slice(0, at);
        break;
      case 6:
        out.splice(at, 0, ...r.bytes(1 + r.int(8)).map((b) => b | 0x80));
        break;
      case 7:
        out.splice(at, 0, ...encoder.encode("A".repeat(400 + r.int(800))));
        break;
      default: {
        const c = out[at];
        if (c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
          out[at] = c ^ 0x20;
        }
      }
    }
  }
  return new Uint8Array(out);
}

function pickSome(r: Random, items: readonly string[], most: number): string[] {
  return Array.from({ length: 1 + r.int(most) }, () => r.pick(items));
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
