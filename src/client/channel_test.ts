// The channel's bound on what a server sends before it is read: a server that floods a
// client busy elsewhere (writing a message, say) loses its connection, and the client
// holds at most the bound meanwhile.

import { connect } from "node:net";
import { assertEquals, assertRejects, assertTrue } from "../../test/assert.ts";
import { Channel, ChannelError, UNREAD_LIMIT } from "./channel.ts";

const encoder = new TextEncoder();

Deno.test("Channel drops a server that sends more than it may ahead of being read", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // 32 times the bound (more than the socket buffers on the way hold) in one line, then
  // its end: without the bound the whole line would be buffered and read.
  const total = 32 * UNREAD_LIMIT;
  const sent = { octets: 0 };
  const server = (async () => {
    const conn = await listener.accept();
    listener.close();
    const block = encoder.encode("X".repeat(65_536));
    try {
      while (sent.octets < total) sent.octets += await conn.write(block);
      await conn.write(encoder.encode("\r\n"));
    } catch {
      // The client hung up mid-flood.
    } finally {
      conn.close();
    }
  })();
  const socket = connect({ host: "127.0.0.1", port: listener.addr.port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const channel = new Channel(socket);
  await assertRejects(
    () => channel.readLine(64 * UNREAD_LIMIT, { at: Date.now() + 30_000, timeoutMs: 30_000 }),
    ChannelError,
    `more than ${UNREAD_LIMIT} octets`,
  );
  await server;
  assertTrue(channel.buffered <= UNREAD_LIMIT, `${channel.buffered} octets held`);
  assertTrue(sent.octets < total, `the server wrote all ${sent.octets} octets`);
  assertEquals(socket.destroyed, true);
});
