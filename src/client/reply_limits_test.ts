// readReply()'s bounds against flooding and trickling servers on a real socket: a reply
// of too many lines or octets ends the connection before the rest is read, and one
// deadline covers a whole reply, however its lines are spaced.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { ChannelError } from "./channel.ts";
import { ClientConnection } from "./connection.ts";
import { REPLY_LINES_LIMIT, REPLY_OCTETS_LIMIT } from "./reply.ts";
import { uniformTimeouts } from "./timeouts.ts";

const encoder = new TextEncoder();

/**
 * Greets, then answers EHLO with `chunks` copies of `chunk` and a last line, counting
 * what it could write before the client hung up.
 */
function floodingServer(chunk: string, chunks: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sent = { octets: 0, total: chunk.length * chunks };
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    try {
      await conn.write(encoder.encode("220 flood.test\r\n"));
      await conn.read(new Uint8Array(1024));
      const bytes = encoder.encode(chunk);
      for (let i = 0; i < chunks; i++) {
        await conn.write(bytes);
        sent.octets += bytes.byteLength;
      }
      await conn.write(encoder.encode("250 that was all\r\n"));
      await conn.read(new Uint8Array(1024));
    } catch {
      // The client hung up mid-flood.
    } finally {
      conn.close();
    }
  })();
  return { port: listener.addr.port, sent, done };
}

async function open(port: number, timeoutMs: number): Promise<ClientConnection> {
  return await ClientConnection.open(
    { transport: "tcp", host: "127.0.0.1", port },
    { protocol: "smtp", timeouts: uniformTimeouts(timeoutMs) },
  );
}

Deno.test("ClientConnection ends a reply of endless short lines and reads no further", async () => {
  // About 64 MiB of `250-` lines, far more than the socket buffers on the way can hold.
  const lines = `250-${"X".repeat(60)}\r\n`.repeat(1000);
  const server = floodingServer(lines, 1000);
  const conn = await open(server.port, 10_000);
  let error: unknown;
  try {
    await conn.greeting();
    await conn.hello("client.test");
  } catch (e) {
    error = e;
  }
  conn.close();
  await server.done;
  assertTrue(error instanceof ChannelError);
  // The reply's line bound, or the channel's bound on what may wait unread when the
  // flood comes faster than the lines are read (channel.ts).
  assertMatch(String(error), new RegExp(`longer than ${REPLY_LINES_LIMIT} lines|not read yet`));
  // The connection ended near the limit, not at the end of the flood.
  assertTrue(server.sent.octets < server.sent.total / 2, `${server.sent.octets} octets sent`);
});

Deno.test("ClientConnection ends a reply of more octets than the limit", async () => {
  // Long lines: the octet bound is reached well before the line bound.
  const line = `250-${"X".repeat(506)}\r\n`;
  const count = Math.ceil(REPLY_OCTETS_LIMIT / line.length) + 1;
  assertTrue(count < REPLY_LINES_LIMIT);
  const server = floodingServer(line, count);
  const conn = await open(server.port, 10_000);
  let error: unknown;
  await conn.greeting();
  await conn.hello("client.test").catch((e) => (error = e));
  conn.close();
  await server.done;
  assertStringIncludes(String(error), `${REPLY_OCTETS_LIMIT} octets`);
});

Deno.test("ClientConnection takes a long reply within the limits", async () => {
  const server = floodingServer(`250-${"X".repeat(60)}\r\n`, REPLY_LINES_LIMIT - 1);
  const conn = await open(server.port, 10_000);
  await conn.greeting();
  const reply = await conn.hello("client.test");
  assertEquals(reply.lines.length, REPLY_LINES_LIMIT);
  assertEquals(reply.lines.at(-1), "that was all");
  conn.close();
  await server.done;
});

Deno.test("ClientConnection gives a reply one deadline, not one per line", async () => {
  // Each line comes well within the timeout; the whole reply does not.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    try {
      for (let i = 0; i < 40; i++) {
        await conn.write(encoder.encode(`220-line ${i}\r\n`));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await conn.write(encoder.encode("220 ready\r\n"));
    } catch {
      // The client gave up.
    } finally {
      conn.close();
    }
  })();
  const conn = await open(listener.addr.port, 300);
  let error: unknown;
  await conn.greeting().catch((e) => (error = e));
  conn.close();
  await done;
  assertStringIncludes(String(error), "no answer within 300 ms");
});
