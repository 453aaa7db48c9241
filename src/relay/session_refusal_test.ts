// relayEnvelope() against scripted servers that refuse the session (the greeting, EHLO and
// HELO, or an EHLO reply without end) rather than the recipient: the next host is tried,
// and when none is left the envelope is deferred with the last host's words, whatever the
// code and the MX order.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { startDnsServer } from "../../test/_dns_server.ts";
import { REPLY_LINES_LIMIT } from "../client/mod.ts";
import { parseRelayTarget, type RelayOptions } from "../config/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { DestinationPace } from "./pace.ts";
import { relayEnvelope } from "./relay.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one connection is answered with; anything left out is accepted. */
interface Script {
  readonly greeting?: string;
  readonly ehlo?: string;
  readonly helo?: string;
}

/** Answers its n-th connection by `scripts[n]`; records each connection's lines. */
function refusingServer(scripts: readonly Script[]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions: string[][] = [];
  const done = (async () => {
    for await (const conn of listener) {
      const lines: string[] = [];
      const script = scripts[sessions.length] ?? {};
      sessions.push(lines);
      await serve(conn, script, lines).catch(() => {});
      conn.close();
    }
  })();
  return {
    port: listener.addr.port,
    sessions,
    async stop() {
      listener.close();
      await done;
    },
  };
}

async function serve(conn: Deno.Conn, script: Script, lines: string[]): Promise<void> {
  const say = (text: string) => conn.write(encoder.encode(`${text}\r\n`));
  await say(script.greeting ?? "220 mx.test ESMTP");
  let pending = "";
  let inData = false;
  const buffer = new Uint8Array(8192);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) return;
    pending += decoder.decode(buffer.subarray(0, n));
    let end;
    while ((end = pending.indexOf("\r\n")) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (inData) {
        if (line === ".") {
          inData = false;
          await say("250 2.0.0 queued");
        }
        continue;
      }
      lines.push(line);
      const verb = line.split(/[ :]/)[0]!.toUpperCase();
      if (verb === "EHLO") await say(script.ehlo ?? "250 mx.test");
      else if (verb === "HELO") await say(script.helo ?? "250 mx.test");
      else if (verb === "MAIL" || verb === "RCPT") await say("250 2.1.0 ok");
      else if (verb === "DATA") {
        inData = true;
        await say("354 go");
      } else if (verb === "QUIT") {
        await say("221 bye");
        return;
      } else await say("500 5.5.1 what");
    }
  }
}

const message = {
  sender: "alice@sender.test",
  rcpt: "bob@far.test",
  content: encoder.encode("Subject: x\r\n\r\nbody\r\n"),
};

/** Relays `message` to far.test's two MX hosts, both served by `server` in turn. */
async function relayByMx(scripts: readonly Script[]) {
  const server = refusingServer(scripts);
  const dns = await startDnsServer({
    "far.test": { MX: [[10, "mx-a.far.test"], [20, "mx-c.far.test"]] },
    "mx-a.far.test": { A: ["127.0.0.1"] },
    "mx-c.far.test": { A: ["127.0.0.1"] },
  });
  try {
    const result = await relayEnvelope({}, message, {
      hostname: "near.test",
      timeoutMs: 10_000,
      mxPort: server.port,
      // Each call afresh: a pace slowed by the last call's failures would hold this one back.
      pace: new DestinationPace(),
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    });
    return { result, sessions: server.sessions };
  } finally {
    await server.stop();
    await dns.stop();
  }
}

/** Relays `message` to a smarthost served by `server`. */
async function relayBySmarthost(scripts: readonly Script[]) {
  const server = refusingServer(scripts);
  const host = parseRelayTarget(`smtp+notls://127.0.0.1:${server.port}`);
  if (typeof host === "string") throw new Error(host);
  const options: RelayOptions = { host };
  try {
    const result = await relayEnvelope(options, message, {
      hostname: "near.test",
      timeoutMs: 10_000,
      pace: new DestinationPace(),
    });
    return { result, sessions: server.sessions };
  } finally {
    await server.stop();
  }
}

const reason = (r: DeliveryResult) => r.kind === "ok" ? "(delivered)" : r.reason;

Deno.test("relayEnvelope() defers, not bounces, when the smarthost greets with 554", async () => {
  const { result, sessions } = await relayBySmarthost([{ greeting: "554 5.7.1 go away" }]);
  assertEquals(result.kind, "tempfail");
  assertStringIncludes(reason(result), "554 5.7.1 go away");
  assertEquals(sessions, [["QUIT"]]);
});

Deno.test("relayEnvelope() defers, not bounces, when EHLO and HELO are both refused", async () => {
  const { result, sessions } = await relayBySmarthost([
    { ehlo: "550 5.7.1 not you", helo: "550 5.7.1 not you either" },
  ]);
  assertEquals(result.kind, "tempfail");
  assertStringIncludes(reason(result), "550 5.7.1 not you either");
  assertEquals(sessions, [["EHLO near.test", "HELO near.test", "QUIT"]]);
});

Deno.test("relayEnvelope() takes a refused greeting or HELO to the next MX, which delivers", async () => {
  for (const refusal of [{ greeting: "554 5.7.1 go away" }, { ehlo: "550 no", helo: "550 no" }]) {
    const { result, sessions } = await relayByMx([refusal, {}]);
    assertEquals(result.kind, "ok");
    assertEquals(sessions.length, 2);
    assertEquals(sessions[1]!.slice(0, 3), [
      "EHLO near.test",
      "MAIL FROM:<alice@sender.test>",
      "RCPT TO:<bob@far.test>",
    ]);
  }
});

Deno.test("relayEnvelope() defers when every MX refuses the greeting, in either order", async () => {
  const busy = { greeting: "421 4.3.2 busy" };
  const away = { greeting: "554 5.7.1 go away" };
  for (const [first, last] of [[busy, away], [away, busy]] as const) {
    const { result, sessions } = await relayByMx([first, last]);
    assertEquals(result.kind, "tempfail");
    // The reason is the last host's reply.
    assertStringIncludes(reason(result), `mx-c.far.test: greeting: ${last.greeting}`);
    assertEquals(sessions.length, 2);
  }
});

Deno.test("relayEnvelope() defers when the EHLO reply runs past its line limit", async () => {
  const endless = `${"250-X\r\n".repeat(REPLY_LINES_LIMIT + 100)}250 done`;
  const { result, sessions } = await relayBySmarthost([{ ehlo: endless }]);
  assertEquals(result.kind, "tempfail");
  assertStringIncludes(reason(result), `longer than ${REPLY_LINES_LIMIT} lines`);
  // The session ended there: no MAIL, and no QUIT into a reply still being sent.
  assertEquals(sessions, [["EHLO near.test"]]);
});
