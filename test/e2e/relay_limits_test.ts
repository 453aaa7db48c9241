// `mta limit` as a receiving server of the test's own counts it: sessions open at once to
// a host, messages per session, and a family no address of the host has. The server holds
// each DATA reply until three sessions are open (or a bound passes), so a limit that is
// not applied shows as a third session at once.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { freePort, sendMessage, waitFor } from "../_helpers.ts";
import { startCountingSink } from "../_counting_sink.ts";
import { DatabaseSync } from "node:sqlite";

async function relayingDaemon(dir: string, sinkPort: number, limits: string) {
  const port = freePort();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
${limits}
action "out" relay host smtp://127.0.0.1:${sinkPort}
match from local for any action "out"
`,
  );
  const daemon = await startDaemon({ config: await loadConfig(path), log: SILENT_LOGGER });
  return { daemon, port };
}

async function sendMany(port: number, count: number): Promise<void> {
  const next = { i: 0 };
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next.i < count) {
      const i = next.i++;
      await sendMessage(port, {
        from: "alice@example.test",
        to: [`r${i}@far.test`],
        body: `Subject: ${i}\n\nbody ${i}\n`,
      });
    }
  }));
}

Deno.test("mta limit max-conn-per-host and session-mail-max hold at the receiving server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-limits-" });
  const sink = startCountingSink({ holdUntilOpen: 3, holdMs: 150 });
  const { daemon, port } = await relayingDaemon(
    dir,
    sink.port,
    `mta limit max-conn-per-host 2\nmta limit for domain "127.0.0.1" session-mail-max 4`,
  );
  try {
    await sendMany(port, 24);
    await waitFor("24 arrivals", () => sink.arrivals.length === 24 || undefined, 120_000);
    assertTrue(sink.maxOpen <= 2, `${sink.maxOpen} sessions were open at once`);
    assertTrue(sink.perConnection.every((n) => n <= 4), `per session: ${sink.perConnection}`);
    assertTrue(sink.connections >= 6, `${sink.connections} sessions for 24 messages`);
  } finally {
    await daemon.stop();
    await sink.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mta limit inet6 to a host with only an IPv4 address defers with OpenSMTPD's words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-limits-" });
  const sink = startCountingSink();
  const { daemon, port } = await relayingDaemon(dir, sink.port, "mta limit inet6");
  try {
    await sendMany(port, 1);
    const error = await waitFor("the deferral", () => {
      const db = new DatabaseSync(`${dir}/queue/queue.sqlite`, { readOnly: true });
      try {
        const row = db.prepare("SELECT last_error FROM envelopes").get() as
          | { last_error: string | null }
          | undefined;
        return row?.last_error ?? undefined;
      } finally {
        db.close();
      }
    }, 60_000);
    assertStringIncludes(error, "4.4.4 Address family mismatch on destination MXs of 127.0.0.1");
    assertEquals(sink.connections, 0);
  } finally {
    await daemon.stop();
    await sink.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
