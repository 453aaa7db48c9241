// The front's mailbox writes on the channel to the parent: the writes of one message for
// one user, started together, are one frame carrying the message once, and each write
// settles with its own item of the answer.

import { assertEquals } from "../../test/assert.ts";
import { batchMailboxWrites, type MailboxRequest } from "../delivery/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { openPrivsepClient } from "./client.ts";
import { readFrames, writeFrame } from "./frames.ts";
import { parentServices } from "./front_agents.ts";

const USER = { name: "alice", uid: 1001, gid: 1001, home: "/home/alice" };
const OTHER = { name: "bob", uid: 1002, gid: 1002, home: "/home/bob" };

function maildirFor(rcpt: string, evpid: string): MailboxRequest {
  return {
    kind: "maildir",
    dir: `/home/alice/${rcpt}`,
    returnPath: "sender@client.test",
    deliveredTo: `${rcpt}@rcpt.test`,
    evpid,
    recovered: false,
  };
}

Deno.test("batchMailboxWrites() sends a message's writes for one user as one frame, each answered on its own", async () => {
  const toParent = new TransformStream<Uint8Array, Uint8Array>();
  const toFront = new TransformStream<Uint8Array, Uint8Array>();
  const client = openPrivsepClient(toFront.readable, toParent.writable);
  const writer = batchMailboxWrites(parentServices(client).writer);
  const parent = toFront.writable.getWriter();
  const frames = readFrames(toParent.readable);
  const content = new TextEncoder().encode("Subject: five\r\n\r\n8-bit \xe9 body\r\n");
  const requests = ["r1", "r2", "r3", "r4", "r5"].map((rcpt, n) => maildirFor(rcpt, `e${n}`));
  const outcome = (write: Promise<void>) =>
    write.then(() => "written", (error) => errorMessage(error));

  // Five writes of the message for alice and one for bob, started in one turn.
  const writes = requests.map((request) => outcome(writer.write(USER, request, content)));
  const bobs = outcome(writer.write(OTHER, maildirFor("b1", "f0"), content));

  const first = (await frames.next()).value!;
  const header = first.header as Record<string, unknown>;
  assertEquals(
    { kind: header["kind"], user: header["user"], requests: header["requests"] },
    { kind: "mailboxes", user: USER, requests },
  );
  assertEquals(first.body, content);
  // bob's write has nothing to join: it goes alone, as a single mailbox request.
  const second = (await frames.next()).value!;
  const single = second.header as Record<string, unknown>;
  assertEquals([single["kind"], single["user"], single["request"]], [
    "mailbox",
    OTHER,
    maildirFor("b1", "f0"),
  ]);
  assertEquals(second.body, content);

  // The parent could not write r3: only r3's write fails, with the parent's reason.
  const written = { kind: "written" };
  await writeFrame(parent, {
    id: header["id"],
    kind: "written-each",
    results: [written, written, { kind: "refused", reason: "Permission denied" }, written, written],
  });
  await writeFrame(parent, { id: single["id"], kind: "written" });
  assertEquals(await Promise.all(writes), [
    "written",
    "written",
    "Permission denied",
    "written",
    "written",
  ]);
  assertEquals(await bobs, "written");

  // A channel that breaks fails every write of a request with the same reason.
  const late = requests.slice(0, 2).map((request) => outcome(writer.write(USER, request, content)));
  const third = (await frames.next()).value!;
  assertEquals((third.header as Record<string, unknown>)["kind"], "mailboxes");
  await parent.close();
  await client.ended;
  assertEquals(await Promise.all(late), [
    "the privileged parent closed the channel",
    "the privileged parent closed the channel",
  ]);
  await frames.return(undefined);
});
