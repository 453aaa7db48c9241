// The client core against a scripted server on a real socket: replies split and joined
// across packets, bare-LF lines, the 512-octet line limit, capabilities, dot-stuffing of
// an empty body, and a deadline on a silent server.

import { assertEquals, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { ChannelError } from "./channel.ts";
import { ClientConnection } from "./connection.ts";
import { dotStuff } from "./dot_stuff.ts";
import { runTransaction } from "./transaction.ts";
import { replyText } from "./reply.ts";
import { uniformTimeouts } from "./timeouts.ts";
import type { DeliveryResult } from "../mail/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server that sends `script` chunks in answer to each line received, recording the lines. */
function scriptedServer(greeting: string[], answers: Record<string, string[]>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    try {
      for (const chunk of greeting) await conn.write(encoder.encode(chunk));
      let pending = "";
      const buffer = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return;
        pending += decoder.decode(buffer.subarray(0, n));
        let end;
        while ((end = pending.indexOf("\r\n")) >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 2);
          received.push(line);
          const verb = received.at(-2) === "DATA" && line !== "." ? "" : line.split(" ")[0]!;
          for (const chunk of answers[verb] ?? []) await conn.write(encoder.encode(chunk));
          if (verb === "QUIT") return;
        }
      }
    } catch {
      // The client went away.
    } finally {
      conn.close();
      listener.close();
    }
  })();
  return { port: listener.addr.port, received, done };
}

Deno.test("ClientConnection reads replies split across packets and ended by bare LF", async () => {
  const server = scriptedServer(["220 mx.te", "st ready\n"], {
    EHLO: [
      "250-mx.test\r\n250-SIZE 1000\r",
      "\n250-AUTH=LOGIN\n250-auth plain login\r\n",
      "250 STARTTLS\r\n",
    ],
    QUIT: ["221 bye\r\n"],
  });
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(10_000),
  });
  const greeting = await conn.greeting();
  assertEquals(replyText(greeting), "220 mx.test ready");
  const ehlo = await conn.hello("client.test");
  assertEquals(ehlo.lines, ["mx.test", "SIZE 1000", "AUTH=LOGIN", "auth plain login", "STARTTLS"]);
  assertEquals(conn.capabilities.maxSize, 1000);
  assertEquals(conn.capabilities.authMechanisms, ["LOGIN", "PLAIN"]);
  assertTrue(conn.capabilities.startTls);
  await conn.quit();
  await server.done;
  assertEquals(server.received, ["EHLO client.test", "QUIT"]);
});

Deno.test("ClientConnection refuses a reply line longer than 512 octets", async () => {
  const server = scriptedServer([`220 ${"x".repeat(507)}\r\n`], {});
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(10_000),
  });
  let error: unknown;
  try {
    await conn.greeting();
  } catch (e) {
    error = e;
  }
  conn.close();
  await server.done;
  assertTrue(error instanceof ChannelError);
  assertStringIncludes(String(error), "longer than 512 octets");
});

Deno.test("ClientConnection accepts a reply line of exactly 512 octets", async () => {
  const server = scriptedServer([`220 ${"x".repeat(506)}\r\n`], { QUIT: ["221 bye\r\n"] });
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(10_000),
  });
  assertEquals((await conn.greeting()).lines[0]!.length, 506);
  await conn.quit();
  await server.done;
});

Deno.test("ClientConnection refuses a multi-line reply whose codes differ", async () => {
  const server = scriptedServer(["220-one\r\n250 two\r\n"], {});
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(10_000),
  });
  let error: unknown;
  await conn.greeting().catch((e) => (error = e));
  conn.close();
  await server.done;
  assertStringIncludes(String(error), 'malformed reply line "250 two"');
});

Deno.test("ClientConnection gives up on a silent server when the deadline passes", async () => {
  const server = scriptedServer([], {});
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(300),
  });
  let error: unknown;
  await conn.greeting().catch((e) => (error = e));
  await server.done;
  assertStringIncludes(String(error), "no answer within 300 ms");
});

// One message to a scripted server that accepts it: the replies to DATA and the dot,
// and the lines the server received from DATA on.
async function sendOneMessage(content: Uint8Array) {
  const server = scriptedServer(["220 ready\r\n"], {
    EHLO: ["250 mx.test\r\n"],
    MAIL: ["250 ok\r\n"],
    RCPT: ["250 ok\r\n"],
    DATA: ["354 go\r\n"],
    ".": ["250 queued\r\n"],
    QUIT: ["221 bye\r\n"],
  });
  const conn = await ClientConnection.open({
    transport: "tcp",
    host: "127.0.0.1",
    port: server.port,
  }, {
    protocol: "smtp",
    timeouts: uniformTimeouts(10_000),
  });
  await conn.greeting();
  await conn.hello("c.test");
  await conn.mail("a@b.test");
  await conn.rcpt("c@d.test");
  const { start, ends } = await conn.data(content);
  await conn.quit();
  await server.done;
  return { start, ends, received: server.received.slice(3) };
}

Deno.test("ClientConnection sends an empty message as the bare terminator", async () => {
  const { start, ends, received } = await sendOneMessage(new Uint8Array(0));
  assertEquals([start.code, ends.map((r) => r.code)], [354, [250]]);
  // DATA is followed directly by the dot: no empty line was added to the message.
  assertEquals(received, ["DATA", ".", "QUIT"]);
});

Deno.test("dotStuff() doubles leading dots and ends the last line", () => {
  const text = (s: string) => decoder.decode(dotStuff(encoder.encode(s)));
  assertEquals(text(""), ".\r\n");
  assertEquals(text("a\r\n"), "a\r\n.\r\n");
  assertEquals(text(".a\r\n..b\r\nc"), "..a\r\n...b\r\nc\r\n.\r\n");
  assertEquals(text("."), "..\r\n.\r\n");
});

Deno.test("dotStuff() sends a bare LF as CRLF and stuffs the dot of the line after it", () => {
  const text = (s: string) => decoder.decode(dotStuff(encoder.encode(s)));
  assertEquals(text("a\nb\r\n"), "a\r\nb\r\n.\r\n");
  assertEquals(text("\n.x\n"), "\r\n..x\r\n.\r\n");
  assertEquals(text("a\n"), "a\r\n.\r\n");
  // A CR inside a line is no line end: it goes out as it is.
  assertEquals(text("a\rb\r\nc\r"), "a\rb\r\nc\r\r\n.\r\n");
});

Deno.test("ClientConnection.data() puts no bare LF on the wire", async () => {
  const { ends, received } = await sendOneMessage(
    encoder.encode("Subject: lf\r\n\r\nbare\n.dot\r\ncr\rkept\nend"),
  );
  assertEquals(ends.map((r) => r.code), [250]);
  // The server splits on CRLF only, so a bare LF would stay inside one of these lines.
  assertEquals(received, [
    "DATA",
    "Subject: lf",
    "",
    "bare",
    "..dot",
    "cr\rkept",
    "end",
    ".",
    "QUIT",
  ]);
});

Deno.test("ClientConnection.envelope() pipelines MAIL and RCPT when PIPELINING is offered", async () => {
  // This server answers MAIL only once the RCPTs are in too: a client that waits for the
  // reply to MAIL before sending RCPT never gets one.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const say = (text: string) => conn.write(encoder.encode(text));
    let pending = "";
    const buffer = new Uint8Array(4096);
    const until = async (test: () => boolean) => {
      while (!test()) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("client gone");
        pending += decoder.decode(buffer.subarray(0, n));
      }
    };
    try {
      await say("220 ready\r\n");
      await until(() => pending.includes("\r\n"));
      await say("250-mx.test\r\n250 PIPELINING\r\n");
      pending = "";
      await until(() => (pending.match(/\r\n/g)?.length ?? 0) >= 3);
      await say("250 sender ok\r\n250 first ok\r\n550 5.1.1 no such user\r\n");
    } finally {
      conn.close();
    }
    return pending;
  })();
  const conn = await ClientConnection.open(
    { transport: "tcp", host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port },
    { protocol: "smtp", timeouts: uniformTimeouts(10_000) },
  );
  await conn.greeting();
  await conn.hello("c.test");
  const { mail, rcpts } = await conn.envelope("a@b.test", [], ["c@d.test", "x@d.test"]);
  conn.close();
  assertEquals(
    await done,
    "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nRCPT TO:<x@d.test>\r\n",
  );
  assertEquals([mail.code, rcpts.map((r) => r.code)], [250, [250, 550]]);
});

Deno.test("runTransaction() sends DATA with MAIL and RCPT to a PIPELINING server, one round trip less", async () => {
  // This server answers nothing before DATA is in: a client that waits for the RCPT
  // replies before DATA never gets them.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const say = (text: string) => conn.write(encoder.encode(text));
    let pending = "";
    const buffer = new Uint8Array(4096);
    const until = async (test: () => boolean) => {
      while (!test()) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("client gone");
        pending += decoder.decode(buffer.subarray(0, n));
      }
    };
    try {
      await say("220 ready\r\n");
      await until(() => pending.includes("\r\n"));
      await say("250-mx.test\r\n250 PIPELINING\r\n");
      pending = "";
      await until(() => pending.includes("DATA\r\n"));
      const group = pending;
      pending = "";
      await say("250 sender ok\r\n250 rcpt ok\r\n354 go ahead\r\n");
      await until(() => pending.includes("\r\n.\r\n"));
      await say("250 2.0.0 queued\r\n");
      return group;
    } finally {
      conn.close();
    }
  })();
  const conn = await ClientConnection.open(
    { transport: "tcp", host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port },
    { protocol: "smtp", timeouts: uniformTimeouts(10_000) },
  );
  await conn.greeting();
  await conn.hello("c.test");
  const state = { results: [undefined], completed: false };
  await runTransaction(conn, {
    sender: "a@b.test",
    recipients: ["c@d.test"],
    content: encoder.encode("Subject: x\r\n\r\nbody\r\n"),
  }, state);
  conn.close();
  assertEquals(await done, "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n");
  assertEquals([state.results, state.completed], [[{ kind: "ok" }], true]);
});

Deno.test("runTransaction() sends a non-ASCII domain as A-labels to a server without SMTPUTF8", async () => {
  const server = scriptedServer(["220 mx.test\r\n"], {
    EHLO: ["250-mx.test\r\n250 8BITMIME\r\n"],
    MAIL: ["250 ok\r\n"],
    RCPT: ["250 ok\r\n"],
    DATA: ["354 go\r\n"],
    ".": ["250 2.0.0 queued\r\n"],
    QUIT: ["221 bye\r\n"],
  });
  const conn = await ClientConnection.open(
    { transport: "tcp", host: "127.0.0.1", port: server.port },
    { protocol: "smtp", timeouts: uniformTimeouts(10_000) },
  );
  await conn.greeting();
  await conn.hello("c.test");
  const state = {
    results: new Array<DeliveryResult | undefined>(2).fill(undefined),
    completed: false,
  };
  await runTransaction(conn, {
    sender: "a@bücher.test",
    recipients: ["u@münchen.test", "ü@münchen.test"],
    content: encoder.encode("To: u@münchen.test\r\n\r\nbody\r\n"),
  }, state);
  await conn.quit();
  await server.done;
  // Only the envelope changes; a local part beyond ASCII has no ASCII form.
  assertEquals(server.received, [
    "EHLO c.test",
    "MAIL FROM:<a@xn--bcher-kva.test> BODY=8BITMIME",
    "RCPT TO:<u@xn--mnchen-3ya.test>",
    "DATA",
    "To: u@münchen.test",
    "",
    "body",
    ".",
    "QUIT",
  ]);
  assertEquals(state.results, [
    { kind: "ok" },
    {
      kind: "permfail",
      reason: "5.6.7 the address needs SMTPUTF8, which the server does not offer",
    },
  ]);
});
