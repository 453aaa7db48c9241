// AUTH to a relay against a scripted smtps server on a real socket: LOGIN when PLAIN is not
// offered, 454 and 535 wait for another try with the server's words, and
// credentials never go out over a connection without TLS, whatever the options say.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { parseRelayTarget, type RelayOptions } from "../config/mod.ts";
import { StaticTable } from "../tables/mod.ts";
import { relayEnvelope } from "./relay.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const certificate = await testCertificate("relay.test");
const skip = certificate === undefined;
if (skip) console.log("relay/auth_test: skipped: openssl is missing");

/** Answers AUTH with `replies` in turn after offering `mechanisms`; records the lines. */
function authServer(tls: boolean, mechanisms: string, replies: string[]) {
  const listener = tls
    ? Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: certificate!.cert,
      key: certificate!.key,
    })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const say = (text: string) => conn.write(encoder.encode(text));
    try {
      await say("220 relay.test ESMTP\r\n");
      let pending = "";
      let inData = false;
      const buffer = new Uint8Array(8192);
      const queue = [...replies];
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
          if (verb === "EHLO") await say(`250-relay.test\r\n250 AUTH ${mechanisms}\r\n`);
          else if (verb === "MAIL" || verb === "RCPT") await say("250 ok\r\n");
          else if (verb === "DATA") {
            inData = true;
            await say("354 go\r\n");
          } else if (verb === "QUIT") {
            await say("221 bye\r\n");
            return;
          } else await say(`${queue.shift() ?? "500 5.5.1 what"}\r\n`);
        }
      }
    } catch {
      // The client went away.
    } finally {
      conn.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, lines, done };
}

function options(url: string, extra: Partial<RelayOptions> = {}): RelayOptions {
  const host = parseRelayTarget(url);
  if (typeof host === "string") throw new Error(host);
  return { host, auth: { name: "secrets", position: { file: "t", line: 1, column: 1 } }, ...extra };
}

const context = {
  hostname: "near.test",
  timeoutMs: 10_000,
  tables: new Map([["secrets", new StaticTable("secrets", "map", [["me", "bob:s3cret"]])]]),
};
const message = {
  sender: "a@near.test",
  rcpt: "b@far.test",
  content: encoder.encode("Subject: x\r\n\r\nbody\r\n"),
};
const b64 = (s: string) => btoa(s);

Deno.test({
  name: "relayEnvelope() authenticates with LOGIN when PLAIN is not offered",
  ignore: skip,
  async fn() {
    const server = authServer(true, "LOGIN", [
      "334 VXNlcm5hbWU6",
      "334 UGFzc3dvcmQ6",
      "235 2.7.0 ok",
    ]);
    const result = await relayEnvelope(
      options(`smtps://me@127.0.0.1:${server.port}`, { tls: "no-verify" }),
      message,
      context,
    );
    await server.done;
    // The host that took it, as the delivery's log line names it.
    const hop = { relay: "127.0.0.1", source: "127.0.0.1", reply: "250 2.0.0 queued" };
    assertEquals(result, { kind: "ok", dsn: "relayed", hop });
    assertEquals(server.lines.slice(1, 4), ["AUTH LOGIN", b64("bob"), b64("s3cret")]);
  },
});

Deno.test({
  name: "relayEnvelope() prefers PLAIN; 454 and 535 both wait for another try, with the reply",
  ignore: skip,
  async fn() {
    const busy = authServer(true, "LOGIN PLAIN", ["454 4.7.0 try again later"]);
    const later = await relayEnvelope(
      options(`smtps://me@127.0.0.1:${busy.port}`, { tls: "no-verify" }),
      message,
      context,
    );
    await busy.done;
    assertEquals(busy.lines[1], `AUTH PLAIN ${b64("\0bob\0s3cret")}`);
    assertEquals(later.kind, "tempfail");
    assertStringIncludes(later.kind === "ok" ? "" : later.reason, "454 4.7.0 try again later");
    const wrong = authServer(true, "PLAIN", ["535 5.7.8 credentials invalid"]);
    const never = await relayEnvelope(
      options(`smtps://me@127.0.0.1:${wrong.port}`, { tls: "no-verify" }),
      message,
      context,
    );
    await wrong.done;
    // Wrong credentials are this host's to fix: no sender gets a report meanwhile.
    assertEquals(never.kind, "tempfail");
    assertStringIncludes(never.kind === "ok" ? "" : never.reason, "535 5.7.8 credentials invalid");
    assertEquals(wrong.lines.some((l) => l.startsWith("MAIL")), false);
  },
});

Deno.test({
  name: "relayEnvelope() never sends credentials over a connection without TLS",
  ignore: skip,
  async fn() {
    // The configuration check refuses this; the session refuses it again.
    const server = authServer(false, "PLAIN LOGIN", ["235 2.7.0 ok"]);
    const result = await relayEnvelope(
      options(`smtp://me@127.0.0.1:${server.port}`),
      message,
      context,
    );
    await server.done;
    assertEquals(result.kind, "tempfail");
    assertStringIncludes(result.kind === "ok" ? "" : result.reason, "without TLS");
    assertEquals(server.lines.filter((l) => l.startsWith("AUTH")), []);
  },
});
