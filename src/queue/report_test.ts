// The delivery-status part of reports (RFC 3464): its Status agrees with its Action and
// comes from a reply's enhanced code, never from an address in the reason.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { buildReport, type ReportKind, statusOf } from "./report.ts";

const ARRIVAL = Date.UTC(2024, 0, 2, 3, 4, 5);

/** The report's text for one recipient whose delivery ended for `reason`. */
function reportText(kind: ReportKind, reason: string, orcpt?: string): string {
  return new TextDecoder().decode(buildReport({
    kind,
    hostname: "mx.example.test",
    to: "alice@example.test",
    recipients: [{
      rcpt: "bob@far.test",
      reason,
      lastAttempt: ARRIVAL + 60_000,
      ...(orcpt === undefined ? {} : { orcpt }),
    }],
    original: new TextEncoder().encode("Subject: hi\r\n\r\nbody\r\n"),
    arrival: ARRIVAL,
    now: ARRIVAL + 60_000,
  }));
}

Deno.test("buildReport() gives a delay after a failed connection 4.4.1, not a code from the address", () => {
  const text = reportText(
    "delayed",
    "127.5.0.1: cannot connect to 127.5.0.1:2: Connection refused",
  );
  assertStringIncludes(text, "Action: delayed\r\nStatus: 4.4.1\r\n");
});

Deno.test("buildReport() takes the enhanced code of a 550 reply for a failure", () => {
  const text = reportText("failed", "550 5.1.1 <bob@far.test>: Recipient address rejected");
  assertStringIncludes(
    text,
    "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <bob@far.test>: " +
      "Recipient address rejected\r\n",
  );
});

Deno.test("statusOf() keeps the class of the Status to the one the Action calls for", () => {
  const cases: [ReportKind, string, string][] = [
    ["delayed", "452 4.2.2 mailbox full", "4.2.2"],
    ["delayed", "mx.test: 451 4.3.0 try later", "4.3.0"],
    ["delayed", "greeting: 554 5.7.1 go away", "4.0.0"],
    ["delayed", "mx.test: connection reset by 10.2.5.1", "4.0.0"],
    ["delayed", "250 2.0.0 odd", "4.0.0"],
    ["failed", "greeting: 554 5.7.1 go away", "5.7.1"],
    ["failed", "5.1.10 far.test does not accept mail (null MX)", "5.1.10"],
    [
      "failed",
      "4.4.7 Envelope expired after 1 hour in the queue (last error: 452 4.2.2 full)",
      "5.4.7",
    ],
    ["failed", "cannot connect to 5.1.1.1:25: refused", "5.0.0"],
    ["failed", "250 2.1.5 ok", "5.0.0"],
    ["delivered", "delivered", "2.0.0"],
    ["relayed", "250 2.0.0 queued as 4.5.6", "2.0.0"],
    ["delivered", "550 5.1.1 no", "2.0.0"],
  ];
  assertEquals(
    cases.map(([kind, reason]) => statusOf(kind, reason)),
    cases.map(([, , status]) => status),
  );
});

Deno.test("buildReport() shows ORCPT as the envelope keeps it, decoded once", () => {
  // RCPT … ORCPT=rfc822;a+2B41@far.test is kept as the address a+41@far.test.
  const text = reportText("failed", "550 5.1.1 no such user", "rfc822;a+41@far.test");
  assertStringIncludes(text, "Original-Recipient: rfc822; a+41@far.test\r\n");
});

Deno.test("buildReport() writes a utf-8 ORCPT in RFC 6533's ASCII form", () => {
  const text = reportText("failed", "550 5.1.1 no such user", "utf-8;j\u00f6rg+x@b\u00fccher.test");
  assertStringIncludes(
    text,
    "Original-Recipient: utf-8; j\\x{F6}rg\\x{2B}x@b\\x{FC}cher.test\r\n",
  );
});

function build(input: Partial<Parameters<typeof buildReport>[0]>): string {
  return new TextDecoder().decode(buildReport({
    kind: "delayed",
    hostname: "mx.example.test",
    to: "alice@example.test",
    recipients: [{ rcpt: "bob@far.test", reason: "451 4.3.0 later" }],
    original: new TextEncoder().encode("Subject: hi\r\n\r\nthe body\r\n"),
    arrival: ARRIVAL,
    now: ARRIVAL + 60_000,
    ...input,
  }));
}

Deno.test("buildReport() returns the whole message with RET=FULL only in a failure", () => {
  for (const kind of ["delayed", "delivered", "relayed"] as const) {
    const text = build({ kind, ret: "FULL" });
    assertStringIncludes(text, "Content-Type: text/rfc822-headers");
    assertEquals(text.includes("the body"), false, kind);
  }
  const failed = build({ kind: "failed", ret: "FULL" });
  assertStringIncludes(failed, "Content-Type: message/rfc822");
  assertStringIncludes(failed, "the body");
  assertEquals(build({ kind: "failed", ret: "HDRS" }).includes("the body"), false);
});

Deno.test("buildReport() says how long a delayed message is kept in the largest whole unit", () => {
  const kept = (ms: number) =>
    /kept in the queue for up to ([^\r\n]+) and tried again/.exec(
      build({ retryUntil: ARRIVAL + ms }),
    )?.[1];
  assertEquals(kept(8_000), "8 seconds");
  assertEquals(kept(60_000), "1 minute");
  assertEquals(kept(3_600_000), "1 hour");
  assertEquals(kept(5 * 3_600_000 + 59_000), "5 hours");
  assertEquals(kept(4 * 86_400_000), "4 days");
});

Deno.test("buildReport() writes a UTF-8 recipient as RFC 6533 utf-8-addr-xtext, the status part ASCII", () => {
  const text = build({
    kind: "failed",
    recipients: [{ rcpt: "jörg@bücher.test", reason: "550 5.1.1 unknown" }],
  });
  assertStringIncludes(text, "Final-Recipient: utf-8; j\\x{F6}rg@b\\x{FC}cher.test\r\n");
  const status = text.slice(text.indexOf("message/delivery-status"), text.indexOf("Status:"));
  assertEquals([...status].every((c) => c.charCodeAt(0) < 0x80), true, status);
});
