// Clients that do not keep up, against the daemon as a child process with a short
// `smtp timeout`: one that pipelines commands and never reads its replies (the daemon must
// stop reading it, stay small and drop it), and one that trickles a line it never ends.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { freePort, SmtpTestClient, waitFor, waitListening } from "../_helpers.ts";
import { residentMegabytes } from "../_memory.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
// What the NOOP client below may add to the daemon's resident memory. The daemon idles at
// 60-130 MB depending on what it has loaded; without back-pressure the client adds 230 MB
// within 4 s and 400 MB within 10 s.
const RSS_GROWTH_BOUND_MB = 120;
const TIMEOUT_S = 2;

interface RunningDaemon extends AsyncDisposable {
  readonly port: number;
  readonly pid: number;
  /** Everything the daemon logged so far. */
  log(): string;
  alive(): boolean;
}

async function startDaemon(): Promise<RunningDaemon> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-slow-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
smtp timeout ${TIMEOUT_S}s
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail"
match from any for domain "example.test" action "local"
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let exited = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  await waitListening(port);
  return {
    port,
    pid: child.pid,
    log: () => text,
    alive: () => !exited,
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await pump;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a client that pipelines NOOPs and never reads is stopped, stays bounded and is dropped", async () => {
  await using daemon = await startDaemon();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.port });
  const chunk = new TextEncoder().encode("NOOP\r\n".repeat(10_000));
  const idle = residentMegabytes(daemon.pid);
  let peak = idle;
  let sent = 0;
  let blocked = false;
  let pending: Promise<number> | undefined;
  // Writes as fast as the daemon takes them, for at most 10 s or 300 MB; a write the daemon
  // has not taken within a second means it stopped reading.
  const until = Date.now() + 10_000;
  while (Date.now() < until && sent < 300e6) {
    pending = conn.write(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const took = await Promise.race([
      pending,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 1000)),
    ]);
    clearTimeout(timer);
    peak = Math.max(peak, residentMegabytes(daemon.pid));
    if (took === undefined) {
      blocked = true;
      break;
    }
    sent += took;
    pending = undefined;
  }
  pending?.catch(() => {});
  console.log(`sent ${(sent / 1e6).toFixed(1)} MB of NOOPs; daemon peak RSS ${peak.toFixed(0)} MB`);
  assertTrue(
    peak - idle < RSS_GROWTH_BOUND_MB,
    `peak RSS ${peak.toFixed(0)} MB, ${(peak - idle).toFixed(0)} MB over the idle ` +
      `${idle.toFixed(0)} MB, more than ${RSS_GROWTH_BOUND_MB} MB`,
  );
  assertTrue(blocked, "the daemon kept reading a client that reads nothing");

  // Never read, the session is dropped once the timeout passes, with a log line.
  const line = await waitFor("the session to be dropped", () => {
    return /closed: the client left \d+ bytes of replies unread for 2 s/.exec(daemon.log())?.[0];
  }, 30_000);
  assertMatch(line, /left \d+ bytes/);
  peak = Math.max(peak, residentMegabytes(daemon.pid));
  assertTrue(
    peak - idle < RSS_GROWTH_BOUND_MB,
    `peak RSS ${peak.toFixed(0)} MB, ${(peak - idle).toFixed(0)} MB over the idle ` +
      `${idle.toFixed(0)} MB, more than ${RSS_GROWTH_BOUND_MB} MB`,
  );
  // Reading now gets what the kernel still held, then the end: the session is gone.
  const buffer = new Uint8Array(1 << 16);
  let received = 0;
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      received += n;
    }
  } catch {
    // A reset also means closed.
  }
  conn.close();
  assertTrue(received < (sent / 6) * "250 2.0.0 Ok\r\n".length, "every reply was sent after all");
  // The daemon is still there for others.
  assertTrue(daemon.alive());
  await using other = await SmtpTestClient.connect(daemon.port);
  await other.expect("220 ");
});

Deno.test("a command line trickled byte by byte is cut off with 421 a timeout after its first byte", async () => {
  await using daemon = await startDaemon();
  await using client = await SmtpTestClient.connect(daemon.port);
  await client.expect("220 ");
  let answered = false;
  const started = Date.now();
  // One byte every 300 ms, each well within the timeout, of a line that never ends.
  const trickle = (async () => {
    while (!answered && Date.now() - started < 6 * TIMEOUT_S * 1000) {
      try {
        await client.sendRaw("X");
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  const reply = await client.reply();
  const elapsed = Date.now() - started;
  answered = true;
  await trickle;
  assertMatch(reply, /^421 4\.4\.2 \S+ Timeout, closing connection$/);
  assertTrue(elapsed >= TIMEOUT_S * 1000 - 100, `answered after ${elapsed} ms`);
  assertTrue(elapsed < TIMEOUT_S * 1000 + 4000, `answered after ${elapsed} ms`);
  assertTrue(await client.closedByServer());
  assertEquals(daemon.alive(), true);
});
