// `listen on socket`: the local enqueuer's unix socket in the queue directory. Its
// clients are local, so `from socket` and `from local` match them.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals } from "../assert.ts";
import { freePort, readMaildir, waitFor } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

// Unix sockets need a net permission naming their exact path: the test task grants this one.
const QUEUE = "/tmp/smtpd-socket-test";

Deno.test("listen on socket accepts local mail over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.remove(QUEUE, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${QUEUE}"
listen on 127.0.0.1 port ${freePort()}
listen on socket
action "a" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from socket for any action "a"
`,
  );
  const daemon = await startDaemon({
    config: await loadConfig(`${dir}/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  try {
    assertEquals(daemon.listeners[1]!.address, `${QUEUE}/smtpd.sock`);
    const conn = await Deno.connect({ transport: "unix", path: `${QUEUE}/smtpd.sock` });
    const encoder = new TextEncoder();
    const lines = [
      "EHLO localhost",
      "MAIL FROM:<root@localhost>",
      "RCPT TO:<u@example.test>",
      "DATA",
      "Subject: via socket\r\n\r\nhello\r\n.",
      "QUIT",
    ];
    const replies: string[] = [];
    const buffer = new Uint8Array(4096);
    let pending = "";
    const reply = async () => {
      while (!/^\d{3} .*\r\n/m.test(pending)) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("closed");
        pending += new TextDecoder().decode(buffer.subarray(0, n));
      }
      const m = /^\d{3} .*\r\n/m.exec(pending)!;
      const text = pending.slice(0, m.index + m[0].length - 2);
      pending = pending.slice(m.index + m[0].length);
      return text.split("\r\n").at(-1)!;
    };
    replies.push(await reply());
    for (const line of lines) {
      await conn.write(encoder.encode(line + "\r\n"));
      replies.push(await reply());
    }
    conn.close();
    assertEquals(replies.map((r) => r.slice(0, 3)), [
      "220",
      "250",
      "250",
      "250",
      "354",
      "250",
      "221",
    ]);
    const files = await waitFor("delivery", async () => {
      const found = await readMaildir(`${dir}/mail`);
      return found.length > 0 ? found : undefined;
    });
    assertEquals(files[0]!.text.split("\n")[2], "Received: from localhost (<unknown> [local])");
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(QUEUE, { recursive: true });
    await Deno.remove(`${QUEUE}-offline`, { recursive: true }).catch(() => {});
  }
});
