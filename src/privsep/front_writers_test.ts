// The front's direct mailbox writes: asked for a user's writer, the parent gets a
// "writer" request naming a socket of the front's and a token; whatever connects there
// with the token gets the writes (a JSON header line, then the message once) and answers
// them, with no mailbox request to the parent. A user the parent starts no writer for,
// and a mailbox in the system spool, go to the parent instead; a writer that dies with a
// write under way fails that write, which is not written again through the parent.

import { underAllNetPermissions } from "../../test/_all_permissions.ts";
import { assertEquals, assertMatch, assertTrue } from "../../test/assert.ts";
import type { MailboxRequest } from "../delivery/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { openPrivsepClient } from "./client.ts";
import { readFrames, writeFrame } from "./frames.ts";
import { parentServices } from "./front_agents.ts";

const ALICE = { name: "alice", uid: 1001, gid: 1001, home: "/home/alice" };
const BOB = { name: "bob", uid: 1002, gid: 1002, home: "/home/bob" };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function maildir(rcpt: string): MailboxRequest {
  return {
    kind: "maildir",
    dir: `/home/alice/${rcpt}`,
    returnPath: "sender@client.test",
    deliveredTo: `${rcpt}@rcpt.test`,
    evpid: "a6dac83c0fa0ce87",
    recovered: false,
  };
}

const outcome = (write: Promise<void>) =>
  write.then(() => "written", (error) => errorMessage(error));

// What `promise` gives, or a failure naming what did not come: a test that fails, not hangs.
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing in 10 s`)), 10_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// A writer as the parent would start it: connects, hears the front's hello, sends the
// token, then reads requests.
async function connectWriter(path: string, token: string, hello: string) {
  const conn = await Deno.connect({ transport: "unix", path });
  const heard = new Uint8Array(33);
  let got = 0;
  while (got < heard.byteLength) {
    const n = await within(conn.read(heard.subarray(got)), "the front's hello");
    if (n === null) throw new Error("the front closed before its hello");
    got += n;
  }
  assertEquals(decoder.decode(heard), `${hello}\n`);
  await conn.write(encoder.encode(`${token}\n`));
  let buffered = new Uint8Array(0);
  const more = async () => {
    const chunk = new Uint8Array(65536);
    const n = await within(conn.read(chunk), "a request on the writer's channel");
    if (n === null) throw new Error("the front closed the writer's channel");
    const joined = new Uint8Array(buffered.byteLength + n);
    joined.set(buffered);
    joined.set(chunk.subarray(0, n), buffered.byteLength);
    buffered = joined;
  };
  return {
    conn,
    async request(): Promise<{ header: Record<string, unknown>; content: Uint8Array }> {
      while (buffered.indexOf(10) === -1) await more();
      const newline = buffered.indexOf(10);
      const header = JSON.parse(decoder.decode(buffered.subarray(0, newline)));
      while (buffered.byteLength < newline + 1 + header.length) await more();
      const content = buffered.slice(newline + 1, newline + 1 + header.length);
      buffered = buffered.slice(newline + 1 + header.length);
      return { header, content };
    },
    answer: (id: unknown, results: unknown[]) =>
      conn.write(encoder.encode(JSON.stringify({ id, results }) + "\n")),
  };
}

const FRONT_WRITERS_TEST =
  "the front sends a user's mailbox writes to the writer the parent started for it, else to the parent";

Deno.test(FRONT_WRITERS_TEST, async () => {
  // It listens on unix sockets of random names.
  if (!await underAllNetPermissions(import.meta.url, FRONT_WRITERS_TEST)) return;
  const dir = await Deno.makeTempDir({ prefix: "smtpd-front-writers-" });
  const toParent = new TransformStream<Uint8Array, Uint8Array>();
  const toFront = new TransformStream<Uint8Array, Uint8Array>();
  const client = openPrivsepClient(toFront.readable, toParent.writable);
  const { writer } = parentServices(client, { dir, log: SILENT_LOGGER });
  const parent = toFront.writable.getWriter();
  const frames = readFrames(toParent.readable);
  const nextFrame = async () => (await within(frames.next(), "a frame to the parent")).value!;
  const nextHeader = async () => (await nextFrame()).header as Record<string, unknown>;
  const content = encoder.encode("Subject: direct\r\n\r\n8-bit \xe9 body\r\n");
  try {
    // alice's first write: the parent is asked for a writer on a socket in the directory.
    const first = outcome(writer.write(ALICE, maildir("r1"), content));
    const ask = await nextHeader();
    assertEquals([ask["kind"], ask["user"]], ["writer", ALICE]);
    assertMatch(String(ask["path"]), new RegExp(`^${dir}/[0-9a-f]{32}\\.sock$`));
    assertMatch(String(ask["token"]), /^[0-9a-f]{32}$/);
    assertMatch(String(ask["hello"]), /^[0-9a-f]{32}$/);
    const socket = await Deno.lstat(String(ask["path"]));
    assertTrue(socket.isSocket);
    assertEquals((socket.mode ?? 0) & 0o777, 0o666);

    // Something without the token is not taken; the writer with it is.
    const stranger = await Deno.connect({ transport: "unix", path: String(ask["path"]) });
    await stranger.write(encoder.encode(`${"0".repeat(32)}\n`));
    const alice = await connectWriter(
      String(ask["path"]),
      String(ask["token"]),
      String(ask["hello"]),
    );
    const got = await alice.request();
    assertEquals(got.header["requests"], [maildir("r1")]);
    assertEquals(got.content, content);
    await alice.answer(got.header["id"], [{}]);
    assertEquals(await first, "written");
    // The stranger heard the hello (anyone who finds the socket does), then is let go.
    const strangerHeard = new Uint8Array(64);
    let strangerGot = 0;
    for (
      let n;
      (n = await within(
        stranger.read(strangerHeard.subarray(strangerGot)),
        "the stranger's end",
      )) !== null;
    ) {
      strangerGot += n;
    }
    assertEquals(decoder.decode(strangerHeard.subarray(0, strangerGot)), `${ask["hello"]}\n`);
    stranger.close();
    // Once connected, the socket is gone from the directory.
    assertEquals([...Deno.readDirSync(dir)], []);

    // Two more of one message: to the same writer as one request, no new question to the
    // parent; a write it could not make fails alone with the writer's reason.
    const two = writer.writeMany(ALICE, [maildir("r2"), maildir("r3")], content);
    const next = await alice.request();
    assertEquals(next.header["requests"], [maildir("r2"), maildir("r3")]);
    await alice.answer(next.header["id"], [{}, { error: "Permission denied (os error 13)" }]);
    assertEquals(await two, [{}, { error: "Permission denied (os error 13)" }]);

    // alice's mbox in the system spool is the parent's to write (it may need the spool's
    // group): a mailbox request, not a writer's.
    const spool = { kind: "mbox", path: "/var/mail/alice", sender: "sender@client.test" } as const;
    const spooled = outcome(writer.write(ALICE, spool, content));
    const mailbox = await nextFrame();
    const header = mailbox.header as Record<string, unknown>;
    assertEquals([header["kind"], header["request"]], ["mailbox", spool]);
    assertEquals(mailbox.body, content);
    await writeFrame(parent, { id: header["id"], kind: "written" });
    assertEquals(await spooled, "written");

    // bob's writer is refused: his write goes to the parent, and so does the next one,
    // without asking for a writer again.
    const bobs = outcome(writer.write(BOB, maildir("b1"), content));
    const bobAsk = await nextHeader();
    assertEquals(bobAsk["kind"], "writer");
    await writeFrame(parent, { id: bobAsk["id"], kind: "refused", reason: "too many" });
    const viaParent = await nextHeader();
    assertEquals([viaParent["kind"], viaParent["request"]], ["mailbox", maildir("b1")]);
    await writeFrame(parent, { id: viaParent["id"], kind: "written" });
    assertEquals(await bobs, "written");
    const bobs2 = outcome(writer.write(BOB, maildir("b2"), content));
    const again = await nextHeader();
    assertEquals([again["kind"], again["request"]], ["mailbox", maildir("b2")]);
    await writeFrame(parent, { id: again["id"], kind: "written" });
    assertEquals(await bobs2, "written");

    // alice's writer dies with a write under way: that write fails and is not sent to
    // the parent (the writer may have made it).
    const lost = outcome(writer.write(ALICE, maildir("r4"), content));
    await alice.request();
    alice.conn.close();
    await writeFrame(parent, { id: ask["id"], kind: "writer-gone" });
    assertEquals(await lost, "mailbox writer for alice exited");
    // The next write asks for a new writer.
    const after = outcome(writer.write(ALICE, maildir("r5"), content));
    const ask2 = await nextHeader();
    assertEquals([ask2["kind"], ask2["user"]], ["writer", ALICE]);
    const alice2 = await connectWriter(
      String(ask2["path"]),
      String(ask2["token"]),
      String(ask2["hello"]),
    );
    const fifth = await alice2.request();
    assertEquals(fifth.header["requests"], [maildir("r5")]);
    await alice2.answer(fifth.header["id"], [{}]);
    assertEquals(await after, "written");
    alice2.conn.close();
    await writeFrame(parent, { id: ask2["id"], kind: "writer-gone" });
  } finally {
    await parent.close();
    await client.ended;
    await writer.close();
    // Not awaited: a frame a failed assertion still waits for would hold it up.
    void frames.return(undefined);
    await Deno.remove(dir, { recursive: true });
  }
});
