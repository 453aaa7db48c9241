// The `mailbox.writer` child when the process it writes for dies: a channel reset by the
// peer ends the child quietly, its writes made, with one line saying why.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { offerChannel } from "../mail/mod.ts";
import { encodeRequestHeader } from "./mailbox_request.ts";

const MAIN = new URL("./mailbox_writer_child_main.ts", import.meta.url).pathname;

Deno.test("runMailboxWriterChild() makes its writes and exits 0 with one line when its channel is reset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-writer-reset-" });
  const offer = offerChannel({ uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 });
  if (!offer) {
    console.log("skipped: writer reset test: no unix sockets here");
    return;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN],
    env: offer.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const conn = (await offer.accept(child.status))!;
    const content = new TextEncoder().encode("Subject: reset\r\n\r\nbody\r\n");
    const request = {
      kind: "maildir" as const,
      dir: `${dir}/Maildir`,
      returnPath: "a@client.test",
      deliveredTo: "alice@example.test",
      evpid: "e1",
      recovered: false,
    };
    await conn.write(encodeRequestHeader(1, [request], content));
    await conn.write(content);
    // The answer's first byte, the rest left unread: closing then resets the connection
    // (ECONNRESET at the child's next read), as a front that dies does.
    assertEquals(await conn.read(new Uint8Array(1)), 1);
    conn.close();
    const status = await child.status;
    const text = await stderr;
    assertEquals(status.code, 0, text);
    assertEquals(text.trimEnd().split("\n").length, 1, text);
    assertStringIncludes(text, "mailbox writer");
    let files = 0;
    for await (const _ of Deno.readDir(`${dir}/Maildir/new`)) files++;
    assertEquals(files, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
