// relayEnvelope() over a domain's MX hosts, each a scripted server on its own loopback
// address: a recipient one host cannot take for want of SMTPUTF8 goes to the next host, and
// MX hosts whose names have no address say so in the words of OpenSMTPD.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { startDnsServer } from "../../test/_dns_server.ts";
import { startDnssecServer } from "../../test/_dnssec_server.ts";
import { underAllNetPermissions } from "../../test/_all_permissions.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { parseRelayTarget } from "../config/mod.ts";
import { type BatchedRecipient, relayEnvelope } from "./relay.ts";
import { RecipientBatcher } from "./batch.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A mail server that records each session's commands and the octets of each DATA. */
interface MailServer {
  readonly sessions: string[][];
  readonly messages: Uint8Array[];
  stop(): Promise<void>;
}

function startMailServer(listener: Deno.Listener, extensions: readonly string[]): MailServer {
  const sessions: string[][] = [];
  const messages: Uint8Array[] = [];
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const lines: string[] = [];
      sessions.push(lines);
      served.push(
        serveMail(conn, extensions, lines, messages).catch(() => {}).finally(() => {
          conn.close();
        }),
      );
    }
  })();
  return {
    sessions,
    messages,
    async stop() {
      listener.close();
      await accepting;
      await Promise.all(served);
    },
  };
}

async function serveMail(
  conn: Deno.Conn,
  extensions: readonly string[],
  lines: string[],
  messages: Uint8Array[],
): Promise<void> {
  const say = (text: string) => conn.write(encoder.encode(text));
  await say("220 mx.test ESMTP\r\n");
  let pending: Uint8Array = new Uint8Array(0);
  let data: Uint8Array | undefined;
  const buffer = new Uint8Array(8192);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) return;
    pending = concat(pending, buffer.subarray(0, n));
    for (;;) {
      if (data) {
        const end = indexOf(pending, encoder.encode("\r\n.\r\n"));
        if (end < 0) break;
        data = concat(data, pending.subarray(0, end + 2));
        pending = pending.subarray(end + 5);
        messages.push(data);
        data = undefined;
        await say("250 2.0.0 queued\r\n");
        continue;
      }
      const end = indexOf(pending, encoder.encode("\r\n"));
      if (end < 0) break;
      const line = decoder.decode(pending.subarray(0, end));
      pending = pending.subarray(end + 2);
      lines.push(line);
      const verb = line.split(/[ :]/)[0]!.toUpperCase();
      if (verb === "EHLO") {
        await say(
          ["mx.test", ...extensions].map((e, i, all) =>
            `250${i === all.length - 1 ? " " : "-"}${e}\r\n`
          ).join(""),
        );
      } else if (verb === "MAIL" || verb === "RCPT" || verb === "RSET") {
        await say("250 2.0.0 ok\r\n");
      } else if (verb === "DATA") {
        data = new Uint8Array(0);
        await say("354 go ahead\r\n");
      } else if (verb === "QUIT") {
        await say("221 2.0.0 bye\r\n");
        return;
      } else await say("502 5.5.2 unknown\r\n");
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Listeners on 127.0.0.1 and 127.0.0.2 with one port, as MX hosts are all reached on one. */
function listenOnTwoAddresses(): { port: number; first: Deno.Listener; second: Deno.Listener } {
  for (;;) {
    const first = Deno.listen({ hostname: "127.0.0.2", port: 0 });
    try {
      const second = Deno.listen({ hostname: "127.0.0.1", port: first.addr.port });
      return { port: first.addr.port, first, second };
    } catch (error) {
      first.close();
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
}

/** utf8.test: mx1 (127.0.0.2) first, mx2 (127.0.0.1) second, each with its extensions. */
async function twoMxHosts(first: readonly string[], second: readonly string[]) {
  const { port, first: one, second: two } = listenOnTwoAddresses();
  const mx1 = startMailServer(one, first);
  const mx2 = startMailServer(two, second);
  const dns = await startDnsServer({
    "utf8.test": { MX: [[10, "mx1.utf8.test"], [20, "mx2.utf8.test"]] },
    "mx1.utf8.test": { A: ["127.0.0.2"] },
    "mx2.utf8.test": { A: ["127.0.0.1"] },
    // Nothing listens on 127.0.0.3.
    "down.test": { MX: [[10, "mx1.utf8.test"], [20, "mx.down.test"]] },
    "mx.down.test": { A: ["127.0.0.3"] },
  });
  const context = {
    hostname: "near.test",
    dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    mxPort: port,
    timeoutMs: 10_000,
    batcher: new RecipientBatcher<BatchedRecipient>(),
  };
  return {
    mx1,
    mx2,
    context,
    async [Symbol.asyncDispose]() {
      await mx1.stop();
      await mx2.stop();
      await dns.stop();
    },
  };
}

const content = encoder.encode(
  "To: =?utf-8?q?=C3=BC?= <ü@utf8.test>\r\nSubject: grüße\r\n\r\nbody\r\n",
);

Deno.test("relayEnvelope() takes a recipient needing SMTPUTF8 past an MX host without it", async () => {
  await using hosts = await twoMxHosts(["8BITMIME"], ["8BITMIME", "SMTPUTF8"]);
  const result = await relayEnvelope(
    {},
    { sender: "a@sender.test", rcpt: "ü@utf8.test", content },
    hosts.context,
  );
  assertEquals(result.kind, "ok");
  assertEquals(result.hop?.relay, "127.0.0.1 (mx2.utf8.test)");
  // The first host was never asked to take the recipient, nor the message.
  assertEquals(hosts.mx1.sessions.flat().filter((l) => /^(RCPT|DATA)/.test(l)), []);
  assertEquals(hosts.mx1.messages, []);
  assertEquals(hosts.mx2.sessions[0]!.slice(0, 4), [
    "EHLO near.test",
    "MAIL FROM:<a@sender.test> SMTPUTF8 BODY=8BITMIME",
    "RCPT TO:<ü@utf8.test>",
    "DATA",
  ]);
  assertEquals(hosts.mx2.messages, [content]);
});

Deno.test("relayEnvelope() takes a message too large for one MX host's SIZE to the next", async () => {
  await using hosts = await twoMxHosts(["SIZE 10"], ["SIZE 10000"]);
  const plain = encoder.encode("Subject: larger than ten octets\r\n\r\nbody\r\n");
  const result = await relayEnvelope(
    {},
    { sender: "a@sender.test", rcpt: "b@utf8.test", content: plain },
    hosts.context,
  );
  assertEquals([result.kind, result.hop?.relay], ["ok", "127.0.0.1 (mx2.utf8.test)"]);
  assertEquals([hosts.mx1.messages, hosts.mx2.messages], [[], [plain]]);
});

Deno.test("relayEnvelope() sends a batch's ASCII recipient to the first MX host, the other on", async () => {
  await using hosts = await twoMxHosts(["8BITMIME"], ["8BITMIME", "SMTPUTF8"]);
  const message = { sender: "a@sender.test", content, msgid: "0001" };
  const [plain, utf8] = await Promise.all([
    relayEnvelope({}, { ...message, rcpt: "b@utf8.test" }, hosts.context),
    relayEnvelope({}, { ...message, rcpt: "ü@utf8.test" }, hosts.context),
  ]);
  assertEquals([plain.kind, plain.hop?.relay], ["ok", "127.0.0.2 (mx1.utf8.test)"]);
  assertEquals([utf8.kind, utf8.hop?.relay], ["ok", "127.0.0.1 (mx2.utf8.test)"]);
  assertEquals(hosts.mx1.sessions.flat().filter((l) => l.startsWith("RCPT")), [
    "RCPT TO:<b@utf8.test>",
  ]);
  assertEquals(hosts.mx2.sessions.flat().filter((l) => l.startsWith("RCPT")), [
    "RCPT TO:<ü@utf8.test>",
  ]);
  assertEquals([hosts.mx1.messages, hosts.mx2.messages], [[content], [content]]);
});

Deno.test("relayEnvelope() fails for good on SMTPUTF8 only when no MX host offers it", async () => {
  await using hosts = await twoMxHosts(["8BITMIME"], ["8BITMIME"]);
  const result = await relayEnvelope(
    {},
    { sender: "a@sender.test", rcpt: "ü@utf8.test", content },
    hosts.context,
  );
  assertEquals(result.kind, "permfail");
  assertStringIncludes(failureText(result), "5.6.7 ");
  assertStringIncludes(failureText(result), "SMTPUTF8");
  // Both hosts were tried.
  assertEquals([hosts.mx1.sessions.length, hosts.mx2.sessions.length], [1, 1]);
  assertEquals([hosts.mx1.messages, hosts.mx2.messages], [[], []]);
});

Deno.test("relayEnvelope() defers a recipient needing SMTPUTF8 while an MX host is unreachable", async () => {
  await using hosts = await twoMxHosts(["8BITMIME"], ["8BITMIME", "SMTPUTF8"]);
  const result = await relayEnvelope(
    {},
    { sender: "a@sender.test", rcpt: "ü@down.test", content },
    hosts.context,
  );
  // The host not reached may offer SMTPUTF8: the recipient waits for it.
  assertEquals(result.kind, "tempfail");
  assertStringIncludes(failureText(result), "mx.down.test: cannot connect to 127.0.0.3:");
  assertEquals(hosts.mx1.sessions.length, 1);
});

function failureText(result: DeliveryResult): string {
  return result.kind === "ok" ? "(delivered)" : result.reason;
}
const NO_ADDRESS = "relayEnvelope() says No MX found when no MX host of the domain has an address";
Deno.test(NO_ADDRESS, async () => {
  // A host without an address is dialled by name, through the system's resolver.
  if (!await underAllNetPermissions(import.meta.url, NO_ADDRESS)) return;
  const refusing = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = refusing.addr.port;
  refusing.close();
  const dns = await startDnssecServer({
    "mxnx.test": { MX: [[10, "nohost.nowhere.test"]] },
    "mxsf.test": { MX: [[10, "sf.mxsf.test"]] },
    "sf.mxsf.test": { servfail: ["A", "AAAA"] },
    "mixed.test": { MX: [[10, "refusing.mixed.test"], [20, "nohost.nowhere.test"]] },
    "refusing.mixed.test": { A: ["127.0.0.2"] },
  });
  const context = {
    hostname: "near.test",
    dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
    mxPort: port,
    timeoutMs: 10_000,
  };
  const message = { sender: "a@sender.test", content: encoder.encode("Subject: x\r\n\r\nx\r\n") };
  try {
    const none = await relayEnvelope({}, { ...message, rcpt: "b@mxnx.test" }, context);
    assertEquals([none.kind, failureText(none)], [
      "tempfail",
      "4.4.4 No MX found for destination mxnx.test: no address for nohost.nowhere.test",
    ]);
    const servfail = await relayEnvelope({}, { ...message, rcpt: "b@mxsf.test" }, context);
    assertEquals([servfail.kind, failureText(servfail)], [
      "tempfail",
      "4.4.4 No MX found for destination mxsf.test: no address for sf.mxsf.test",
    ]);
    const smarthost = parseRelayTarget(`smtp://nohost.nowhere.test:${port}`);
    if (typeof smarthost === "string") throw new Error(smarthost);
    const relayed = await relayEnvelope({ host: smarthost }, {
      ...message,
      rcpt: "b@mxnx.test",
    }, context);
    assertEquals(failureText(relayed), "4.4.4 Host not found: no address for nohost.nowhere.test");
    // A host that was reached, and refused the connection, is what the sender hears of.
    const mixed = await relayEnvelope({}, { ...message, rcpt: "b@mixed.test" }, context);
    assertEquals(mixed.kind, "tempfail");
    assertStringIncludes(
      failureText(mixed),
      `refusing.mixed.test: cannot connect to 127.0.0.2:${port}`,
    );
  } finally {
    await dns.stop();
  }
});
