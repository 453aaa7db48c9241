// A transaction's message id is one no queued message has.

import { assertEquals, assertTrue } from "../../test/assert.ts";
import { freeMsgid } from "./free_msgid.ts";
import { openQueue } from "./sqlite_store.ts";

const CONTENT = new TextEncoder().encode("Subject: x\r\n\r\nbody\r\n");

Deno.test("the message id given to a transaction is not one the queue holds", async () => {
  const dir = await Deno.makeTempDir();
  const queue = await openQueue(dir);
  try {
    const held: string[] = [];
    for (const msgid of ["00000001", "00000002", "00000003"]) {
      held.push(
        await queue.commit({
          msgid,
          sender: "a@client.test",
          helo: "client.test",
          src: "127.0.0.1",
          content: CONTENT,
          envelopes: [{ rcpt: "u@example.test", action: "local", evpid: `${msgid}00000000` }],
        }),
      );
    }
    assertEquals(held, ["00000001", "00000002", "00000003"]);
    // The first draws land on held ids, as they do now and then with a full queue.
    const asked: string[] = [];
    const id = freeMsgid({
      messageInfo(candidate) {
        const n = asked.push(candidate);
        return queue.messageInfo(n <= held.length ? held[n - 1]! : candidate);
      },
    });
    assertEquals(asked.length, held.length + 1);
    assertEquals(id, asked[held.length]);
    assertTrue(!held.includes(id) && /^[0-9a-f]{8}$/.test(id), id);
  } finally {
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});
