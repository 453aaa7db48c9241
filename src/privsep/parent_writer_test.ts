// The parent's answer to a "writer" request: it starts a mailbox writer as the user that
// connects to the front's socket, only for a real non-root user, a socket of the front's
// in the directory made for it and a token of hex digits, and only so many per user; the
// writer checks each write as the parent would, writes as the user, and the answer comes
// once it has exited. Needs root (the writer runs as nobody).

import { underAllNetPermissions } from "../../test/_all_permissions.ts";
import { systemAccount } from "../../test/_users.ts";
import { assertEquals, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { loadConfig } from "../config/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { acceptedChannel, offerChannelIn } from "../mail/mod.ts";
import { TableSet } from "../tables/mod.ts";
import type { PrivsepAnswer } from "./protocol.ts";
import { createParentService } from "./parent_service.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// One request on the writer's channel (a JSON header line, then the message) and its answer.
async function ask(
  channel: ReturnType<typeof acceptedChannel>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  id: number,
  requests: unknown[],
  content: Uint8Array,
): Promise<unknown> {
  const header = JSON.stringify({ id, requests, length: content.byteLength }) + "\n";
  await writer.write(encoder.encode(header));
  await writer.write(content);
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the writer closed its channel (${await channel.connected})`);
    text += decoder.decode(value);
  }
  return JSON.parse(text);
}

const PARENT_WRITER_TEST =
  "createParentService() starts a writer for the front's socket, which checks and makes each write as the user";

Deno.test(PARENT_WRITER_TEST, async () => {
  // It listens on unix sockets of random names.
  if (!await underAllNetPermissions(import.meta.url, PARENT_WRITER_TEST)) return;
  if (Deno.uid() !== 0) {
    console.log("skipped: parent writer test: not running as root");
    return;
  }
  const user = await systemAccount("nobody");
  const dir = await Deno.makeTempDir({ prefix: "smtpd-parent-writer-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `action "local" maildir\nmatch from any for local action "local"\n`,
  );
  const sockets = `${dir}/sockets`;
  await Deno.mkdir(sockets, { mode: 0o711 });
  await Deno.chmod(sockets, 0o711);
  const config = await loadConfig(`${dir}/smtpd.conf`);
  const tables = await TableSet.open(config, { baseDir: dir });
  // This process plays the front: the sockets are root's here.
  const service = createParentService({
    config,
    tables: () => tables.tables,
    log: SILENT_LOGGER,
    writerSockets: { dir: sockets, uid: 0 },
  });
  const token = "0123456789abcdef0123456789abcdef";
  const hello = "fedcba9876543210fedcba9876543210";
  // Channels to close before the service, should an assertion fail while writers run.
  const open: { close(): Promise<void> }[] = [];
  const refused = async (request: Record<string, unknown>, reason: string) => {
    const answer = await service.answer(
      { kind: "writer", user, token, hello, ...request },
      new Uint8Array(),
    );
    assertEquals(answer.kind, "refused", JSON.stringify(answer));
    assertStringIncludes(answer.kind === "refused" ? answer.reason : "", reason);
  };
  try {
    // What is refused before anything starts.
    await refused(
      { path: `${dir}/0123456789abcdef0123456789abcdef.sock` },
      "is not one of the front's",
    );
    await refused({ path: `${sockets}/channel` }, "is not one of the front's");
    await refused(
      { path: `${sockets}/../x/0123456789abcdef0123456789abcdef.sock` },
      "plain absolute path",
    );
    const missing = `${sockets}/00000000000000000000000000000000.sock`;
    await refused({ path: missing }, "is not a socket of the front's");
    await Deno.writeTextFile(missing, "");
    await refused({ path: missing }, "is not a socket of the front's");
    await Deno.remove(missing);
    const theirs = offerChannelIn(sockets);
    await Deno.chown(theirs.path, user.uid, user.gid);
    await refused({ path: theirs.path, token: theirs.token }, "is not a socket of the front's");
    theirs.close();
    const offer = offerChannelIn(sockets);
    await refused(
      { path: offer.path, token: "../../etc/passwd" },
      "the token is not 32 hex digits",
    );
    await refused(
      { path: offer.path, token: offer.token, hello: "say hi" },
      "the hello is not 32 hex digits",
    );
    await refused({ path: offer.path, user: { ...user, uid: 0 } }, "will not deliver as root");

    // A socket of the front's whose server does not greet with the hello (one another
    // socket could be put in place of): the writer says nothing there and exits.
    const quiet = `${sockets}/${"ab".repeat(16)}.sock`;
    const listener = Deno.listen({ transport: "unix", path: quiet });
    await Deno.chmod(quiet, 0o666);
    const quietGone = service.answer(
      { kind: "writer", user, path: quiet, token, hello },
      new Uint8Array(),
    );
    const conn = await listener.accept();
    listener.close();
    await conn.write(encoder.encode(`${"0".repeat(32)}\n`));
    const heard = await new Response(conn.readable).bytes();
    assertEquals(heard.byteLength, 0, `the writer sent ${decoder.decode(heard)}`);
    assertEquals(await quietGone, { kind: "writer-gone" });

    offer.close();

    // A writer for nobody, on a socket of the front's: the channel, and the request's answer.
    const start = () => {
      const o = offerChannelIn(sockets);
      const answer = service.answer(
        { kind: "writer", user, path: o.path, token: o.token, hello: o.hello },
        new Uint8Array(),
      );
      const c = acceptedChannel(o, answer);
      open.push(c);
      return { channel: c, gone: answer };
    };
    const { channel, gone } = start();
    assertTrue(await channel.connected, "the writer connected");
    await Deno.mkdir(`${dir}/inbox`);
    await Deno.chown(`${dir}/inbox`, user.uid, user.gid);
    const maildir = (path: string, evpid = "a6dac83c0fa0ce87") => ({
      kind: "maildir",
      dir: path,
      returnPath: "sender@client.test",
      deliveredTo: "nobody@rcpt.test",
      evpid,
      recovered: false,
    });
    const writer = channel.writable.getWriter();
    const reader = channel.readable.getReader();
    const content = encoder.encode("Subject: direct\r\n\r\nbody\r\n");
    const answer = await ask(channel, writer, reader, 7, [
      maildir(`${dir}/inbox`),
      maildir("relative"),
      maildir(`${dir}/inbox/../../etc`),
      maildir(`${dir}/inbox`, "../x"),
      { kind: "script", command: "/bin/true" },
    ], content);
    assertEquals(answer, {
      id: 7,
      results: [
        {},
        // Refused by the writer's checks: for good, so they are not retried.
        { error: `the Maildir "relative" is not a plain absolute path`, permanent: true },
        {
          error: `the Maildir "${dir}/inbox/../../etc" is not a plain absolute path`,
          permanent: true,
        },
        { error: `bad envelope id "../x"`, permanent: true },
        { error: "unknown mailbox kind", permanent: true },
      ],
    });
    const files = [...Deno.readDirSync(`${dir}/inbox/new`)].map((e) => e.name);
    assertEquals(files.length, 1);
    const file = `${dir}/inbox/new/${files[0]}`;
    assertEquals([(await Deno.stat(file)).uid, (await Deno.stat(file)).gid], [user.uid, user.gid]);
    assertEquals(
      await Deno.readTextFile(file),
      "Return-Path: <sender@client.test>\nDelivered-To: nobody@rcpt.test\nSubject: direct\n\nbody\n",
    );

    // Four writers for one user at most: a fifth is refused, for now.
    const more = [1, 2, 3].map(start);
    for (const m of more) assertTrue(await m.channel.connected);
    const fifth = offerChannelIn(sockets);
    const over: PrivsepAnswer = await service.answer(
      { kind: "writer", user, path: fifth.path, token: fifth.token, hello: fifth.hello },
      new Uint8Array(),
    );
    assertEquals(over, { kind: "refused", reason: "already 4 mailbox writers for nobody" });
    fifth.close();

    // The front ends a writer's channel: the writer exits, and the request is answered.
    await writer.close();
    assertEquals(await gone, { kind: "writer-gone" });
    for (const m of more) {
      await m.channel.writable.close();
      assertEquals(await m.gone, { kind: "writer-gone" });
      await m.channel.close();
    }
    await channel.close();

    // Eight writers started for one user in a minute at most (five so far): a front that
    // ends its writers to have more started is refused.
    for (let n = 0; n < 3; n++) {
      const { channel: c, gone: g } = start();
      assertTrue(await c.connected);
      await c.writable.close();
      assertEquals(await g, { kind: "writer-gone" });
    }
    const ninth = offerChannelIn(sockets);
    assertEquals(
      await service.answer(
        { kind: "writer", user, path: ninth.path, token: ninth.token, hello: ninth.hello },
        new Uint8Array(),
      ),
      { kind: "refused", reason: "8 mailbox writers started for nobody in the last minute" },
    );
    ninth.close();
  } finally {
    for (const channel of open) await channel.close();
    await service.close();
    tables.close();
    await Deno.remove(dir, { recursive: true });
  }
});
