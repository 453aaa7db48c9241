// Legacy (pre-6.4) rules decide as OpenSMTPD 6.0's ruleset did: an authenticated session is
// looked up as the source "local", so `accept for any relay` relays for an authenticated
// remote client, and `from ! local` spares it, while the modern `from local` does not.

import { parseConfig } from "../../src/config/mod.ts";
import { compileRuleset, type SessionFacts } from "../../src/rules/mod.ts";
import { assertEquals } from "../assert.ts";

const remote: SessionFacts = { src: "203.0.113.5", local: false, socket: false, tls: true };
const alice: SessionFacts = { ...remote, authUser: "alice" };
const local: SessionFacts = { src: "127.0.0.1", local: true, socket: false, tls: false };

function decide(text: string, session: SessionFacts, rcptTo: string): string {
  const { config, diagnostics } = parseConfig(text, { file: "smtpd.conf" });
  if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const ruleset = compileRuleset(config, { tables: new Map(), localNames: ["mx.example.org"] });
  const verdict = ruleset(session, { mailFrom: "a@client.test", rcptTo });
  return verdict.kind === "accept" ? verdict.action : verdict.kind;
}

Deno.test("legacy accept for any relay relays for an authenticated remote client", () => {
  const legacy = "listen on lo0\naccept for any relay\n";
  assertEquals(decide(legacy, alice, "x@far.test"), "relay");
  assertEquals(decide(legacy, local, "x@far.test"), "relay");
  assertEquals(decide(legacy, remote, "x@far.test"), "reject");
  // The modern grammar's `from local` is the machine's own addresses only.
  const modern = 'action "relay" relay\nmatch from local for any action "relay"\n';
  assertEquals(decide(modern, alice, "x@far.test"), "reject");
});

Deno.test("legacy from ! local spares authenticated clients; authenticated asks for AUTH", () => {
  const text = `listen on lo0
reject from ! local for any
accept authenticated for any relay
accept from any for local deliver to mbox
`;
  assertEquals(decide(text, remote, "root@mx.example.org"), "reject");
  assertEquals(decide(text, alice, "x@far.test"), "relay");
  assertEquals(decide(text, local, "x@far.test"), "reject");
  assertEquals(decide(text, local, "root@mx.example.org"), "mbox");
});

Deno.test("legacy ! authenticated holds for local unauthenticated clients and prints as one match", () => {
  const text = "listen on lo0\naccept for any deliver to maildir ! authenticated\n";
  assertEquals(decide(text, local, "x@far.test"), "maildir");
  assertEquals(decide(text, alice, "x@far.test"), "reject");
  assertEquals(decide(text, remote, "x@far.test"), "reject");
  // No `from auth ! auth` twin: a match takes auth once, and that one could never hold.
  const { config } = parseConfig(text, { file: "smtpd.conf" });
  assertEquals(config!.matches.length, 1);
});
