// relayEnvelope() against scripted servers on real sockets: a STARTTLS handshake that fails
// on an opportunistic route is tried again in clear on the same host; a required one is not.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import type { Logger } from "../log/mod.ts";
import { parseRelayTarget, type RelayOptions } from "../config/mod.ts";
import { startDnsServer } from "../../test/_dns_server.ts";
import { relayEnvelope, rewriteSender } from "./relay.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Offers STARTTLS, then answers the handshake with text; records each connection's lines. */
function brokenTlsServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions: string[][] = [];
  const done = (async () => {
    for await (const conn of listener) {
      const lines: string[] = [];
      sessions.push(lines);
      await serve(conn, lines).catch(() => {});
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

async function serve(conn: Deno.Conn, lines: string[]): Promise<void> {
  const say = (text: string) => conn.write(encoder.encode(text));
  await say("220 broken.test ESMTP\r\n");
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
          await say("250 2.0.0 queued\r\n");
        }
        continue;
      }
      lines.push(line);
      const verb = line.split(/[ :]/)[0]!.toUpperCase();
      if (verb === "EHLO") await say("250-broken.test\r\n250 STARTTLS\r\n");
      else if (verb === "STARTTLS") {
        await say("220 2.0.0 go ahead\r\n");
        // Not a TLS server after all: the ClientHello gets text, and the handshake fails.
        await conn.read(buffer);
        await say("this is not TLS\r\n");
        return;
      } else if (verb === "MAIL" || verb === "RCPT") await say("250 2.1.0 ok\r\n");
      else if (verb === "DATA") {
        inData = true;
        await say("354 go\r\n");
      } else if (verb === "QUIT") {
        await say("221 bye\r\n");
        return;
      }
    }
  }
}

function relayTo(url: string, extra: Partial<RelayOptions> = {}): RelayOptions {
  const host = parseRelayTarget(url);
  if (typeof host === "string") throw new Error(host);
  return { host, ...extra };
}

const message = {
  sender: "a@sender.test",
  rcpt: "b@broken.test",
  content: encoder.encode("Subject: x\r\n\r\nbody\r\n"),
};

Deno.test("relayEnvelope() retries in clear when an opportunistic STARTTLS handshake fails", async () => {
  const server = brokenTlsServer();
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  try {
    const result = await relayEnvelope(relayTo(`smtp://127.0.0.1:${server.port}`), message, {
      hostname: "near.test",
      log,
      timeoutMs: 10_000,
    });
    // The host that took it, as the delivery's log line names it.
    const hop = { relay: "127.0.0.1", source: "127.0.0.1", reply: "250 2.0.0 queued" };
    assertEquals(result, { kind: "ok", dsn: "relayed", hop });
    assertEquals(server.sessions.length, 2);
    assertEquals(server.sessions[0], ["EHLO near.test", "STARTTLS"]);
    assertEquals(server.sessions[1]!.slice(0, 3), [
      "EHLO near.test",
      "MAIL FROM:<a@sender.test>",
      "RCPT TO:<b@broken.test>",
    ]);
    assertStringIncludes(lines.join("\n"), "opportunistic TLS failed, trying again in plain text");
    assertStringIncludes(lines.join("\n"), "tls=none");
  } finally {
    await server.stop();
  }
});

Deno.test("relayEnvelope() never falls back to clear text when TLS is required", async () => {
  const server = brokenTlsServer();
  try {
    const result = await relayEnvelope(
      relayTo(`smtp://127.0.0.1:${server.port}`, { tls: "no-verify" }),
      message,
      { hostname: "near.test", timeoutMs: 10_000 },
    );
    assertEquals(result.kind, "tempfail");
    assertStringIncludes(result.kind === "tempfail" ? result.reason : "", "TLS handshake failed");
    assertEquals(server.sessions.length, 1);
  } finally {
    await server.stop();
  }
});

Deno.test("rewriteSender() applies mail-from to the whole sender, its domain or its user", () => {
  assertEquals(rewriteSender("alice@near.test", "bounce@example.org"), "bounce@example.org");
  assertEquals(rewriteSender("alice@near.test", "@example.org"), "alice@example.org");
  assertEquals(rewriteSender("alice@near.test", "bounce@"), "bounce@near.test");
  assertEquals(rewriteSender("alice@near.test", "bounce"), "bounce@near.test");
  // The null sender of a report stays null.
  assertEquals(rewriteSender("", "bounce@example.org"), "");
});

Deno.test("relayEnvelope() defers, and does not crash, where the permissions forbid the host", async () => {
  // The test task allows 127.0.0.1-3 only; 127.0.0.9 is refused by the runtime (or, with
  // every permission, by the kernel): either way a temporary failure, not an uncaught error.
  const result = await relayEnvelope(relayTo("smtp://127.0.0.9:2525"), message, {
    hostname: "near.test",
    timeoutMs: 10_000,
  });
  assertEquals(result.kind, "tempfail");
});

Deno.test("relayEnvelope() names the recipient's domain as the relay when the domain does not exist", async () => {
  // README (Logs): when no host could be reached, relay= is the relay's domain.
  const dns = await startDnsServer({});
  try {
    const result = await relayEnvelope({}, { ...message, rcpt: "b@nowhere.test" }, {
      hostname: "near.test",
      dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
      timeoutMs: 10_000,
    });
    assertEquals(result.kind === "ok" ? undefined : result.kind, "permfail");
    assertEquals(result.hop, { relay: "nowhere.test" });
  } finally {
    await dns.stop();
  }
});
